// Reads a PMTiles archive Lentera wrote with the npm `pmtiles` reader (the one MapLibre pages
// use) and compares sample tiles with the tiles the server serves.
// Usage: node pmtiles.mjs ARCHIVE BASE_URL z/x/y[,z/x/y…]
// Prints one JSON object: the header, the metadata and, per sample, whether the archive's tile
// (decompressed) equals the server's tiles of the archive's layers, one after the other.
import { open } from 'node:fs/promises';
import { PMTiles } from 'pmtiles';

const [archive, base, samples] = process.argv.slice(2);
const file = await open(archive, 'r');
const source = {
  getKey: () => archive,
  getBytes: async (offset, length) => {
    const data = Buffer.alloc(length);
    const { bytesRead } = await file.read(data, 0, length, offset);
    return { data: data.buffer.slice(data.byteOffset, data.byteOffset + bytesRead) };
  },
};
const p = new PMTiles(source);
const header = await p.getHeader();
const metadata = await p.getMetadata();
const layers = metadata.vector_layers;

async function serverTile(z, x, y) {
  const parts = [];
  for (const l of layers) {
    // A boundary layer's names and parent borders travel in its own tiles.
    if (l.id.endsWith('_label') || l.id.endsWith('_batas')) continue;
    if (z < l.minzoom || z > l.maxzoom) continue;
    const r = await fetch(`${base}/tiles/${l.id}/${z}/${x}/${y}.mvt`);
    if (r.status === 204) continue;
    if (!r.ok) throw new Error(`${l.id} ${z}/${x}/${y}: ${r.status}`);
    parts.push(Buffer.from(await r.arrayBuffer()));
  }
  return Buffer.concat(parts);
}

const results = [];
for (const s of samples.split(',')) {
  const [z, x, y] = s.split('/').map(Number);
  const got = await p.getZxy(z, x, y);
  const archived = got ? Buffer.from(got.data) : Buffer.alloc(0);
  const served = await serverTile(z, x, y);
  results.push({ tile: s, archived: archived.length, served: served.length, equal: archived.equals(served) });
}
await file.close();
console.log(JSON.stringify({ header, metadata, results }));
