// The web map drawing a PMTiles archive (written by `lentera export pmtiles`) instead of the
// server's tiles, in headless Chromium. The archive is answered by the browser itself at
// /arsip/peta.pmtiles with HTTP range responses, as a static web host would.
//
// Usage: node web/e2e/pmtiles.page.mjs BASE_URL ARCHIVE ARTIFACT_DIR
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, waitFor, jsonGetter, run } from './lib.mjs';

const [base, archivePath, artifacts] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });
const archive = readFileSync(archivePath);
const getJson = jsonGetter(base);

await run(async (page) => {
  const served = [];
  const ranges = [];
  page.on('request', (r) => { if (r.url().includes('/tiles/')) served.push(r.url()); });
  await page.route((url) => url.pathname === '/arsip/peta.pmtiles', async (route) => {
    const m = /bytes=(\d+)-(\d+)/.exec(route.request().headers().range || '');
    const [from, to] = m ? [Number(m[1]), Math.min(Number(m[2]), archive.length - 1)] : [0, archive.length - 1];
    ranges.push(`${from}-${to}`);
    await route.fulfill({
      status: m ? 206 : 200,
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `bytes ${from}-${to}/${archive.length}`,
        'accept-ranges': 'bytes',
      },
      body: archive.subarray(from, to + 1),
    });
  });
  await page.goto(base + '/?pmtiles=/arsip/peta.pmtiles');
  await waitFor(page, 'the map drawn from the archive', () => window.lentera && window.lentera.ready);
  await waitFor(page, 'kabupaten from the archive', () => {
    const m = window.lentera.map;
    return m.loaded() && m.queryRenderedFeatures({ layers: ['kabupaten-isi'] }).length > 0;
  });
  const meta = await page.evaluate(() => window.lentera.archive.metadata);
  const state = await page.evaluate(() => ({
    period: window.lentera.state.period,
    periodLocked: document.getElementById('periode').disabled,
    status: document.getElementById('label-arsip').hidden ? '' : document.getElementById('label-arsip').textContent,
    kabupaten: window.lentera.map.queryRenderedFeatures({ layers: ['kabupaten-isi'] }).map((f) => f.properties.kode),
  }));
  check(state.period === meta['lentera:period'] && state.periodLocked, `the page shows the archive's period ${meta['lentera:period']} and locks the period`);
  check(state.kabupaten.length > 0 && state.kabupaten.every((k) => /^\d\d\.\d\d$/.test(k)), `${new Set(state.kabupaten).size} kabupaten/kota drawn from the archive`);
  check(state.status.includes('arsip PMTiles'), `the status says where the map comes from: "${state.status}"`);
  await page.screenshot({ path: join(artifacts, '01-arsip-provinsi.png') });

  // Zoomed in on a kota: its desa come from the archive too, coloured by the choropleth.
  const kabupaten = await getJson('/api/indicators?level=kabupaten');
  const kota = kabupaten.find((u) => u.kode === '64.72') || kabupaten.find((u) => u.jenis === 'kota');
  const city = await getJson('/api/regions/' + kota.kode);
  await page.evaluate((b) => window.lentera.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { duration: 0 }), city.bbox);
  await waitFor(page, 'desa from the archive', () => {
    const m = window.lentera.map;
    return m.loaded() && window.lentera.choropleth.desa && m.queryRenderedFeatures({ layers: ['desa-isi'] }).length > 0;
  });
  const desa = await page.evaluate(() => window.lentera.map.queryRenderedFeatures({ layers: ['desa-isi'] }).length);
  check(desa > 5, `${desa} desa drawn from the archive at the kota's zoom`);
  await page.screenshot({ path: join(artifacts, '02-arsip-kota.png') });
  check(served.length === 0, `no boundary tile was asked of the server (${served.length})`);
  check(ranges.length >= 2, `the archive was read in ${ranges.length} range requests`);
});
