// Browser checks of what the figures rest on, over a period whose sources state no desil
// (DTKS and a verval file without desil) after a P3KE period: the map says "Tidak ada data"
// for desil 1 instead of 0, the legend names the period's sources, the compare view warns
// that the sources differ, and a kabupaten's panel lists its sources and why its desil
// change is not measured.
//
// Usage: node web/e2e/sources.mjs BASE_URL ARTIFACT_DIR PERIOD BASE_PERIOD KABUPATEN
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { check, waitFor, jsonGetter, run } from './lib.mjs';

const [base, artifacts, period, basePeriod, kabupaten] = process.argv.slice(2);
if (!kabupaten) {
  console.error('usage: node sources.mjs BASE_URL ARTIFACT_DIR PERIOD BASE_PERIOD KABUPATEN');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const getJson = jsonGetter(base);

await run(async (page) => {
  // 1. The period without desil: every kabupaten is "Tidak ada data" for desil 1.
  await page.goto(`${base}/?indikator=desil_1&tingkat=kabupaten&periode=${period}`);
  await page.waitForFunction(() => window.lentera && window.lentera.ready, null, { timeout: 30000 });
  await waitFor(page, 'the legend', () => document.querySelectorAll('#legenda .kelas').length > 0);
  const rows = await page.$$eval('#legenda .kelas', (r) => r.map((x) => [x.querySelector('.rentang').textContent, x.querySelector('.jumlah').textContent]));
  const kab = await getJson(`/api/indicators?level=kabupaten&period=${period}`);
  check(rows.length === 1 && rows[0][0] === 'Tidak ada data' && rows[0][1].startsWith(String(kab.length) + ' '),
    `desil 1 of ${period}: the legend is one row "Tidak ada data" holding all ${kab.length} kabupaten/kota (${JSON.stringify(rows)})`);
  const painted = await page.evaluate(() => window.lentera.choropleth.kabupaten.units.every((u) => u.class === null));
  check(painted, 'no kabupaten/kota is given a class of desil 1');
  const sources = await getJson(`/api/sources?level=kabupaten&period=${period}`);
  const covered = sources.filter((u) => u.households > 0).length;
  await waitFor(page, 'the sources under the legend', () => document.getElementById('ringkas-sumber').textContent.includes('dari'));
  const summary = await page.textContent('#ringkas-sumber');
  check(summary === `Periode ${period}: DTKS, verval · ${covered} dari ${sources.length} kabupaten/kota`,
    `the legend names the period's sources: "${summary}"`);
  const reason = await page.textContent('#legenda .alasan');
  check(reason === `Sumber ${period} tidak memuat desil (${kab.length} kabupaten)`, `the legend says why: "${reason}"`);
  const methodNote = await page.getAttribute('#legenda p.kecil', 'title');
  check(methodNote.startsWith('Kelas alami: mengelompokkan nilai yang berdekatan'), `the legend explains Ckmeans in plain words ("${methodNote}")`);
  await page.screenshot({ path: join(artifacts, '01-tanpa-desil.png') });

  // 2. A kabupaten's panel: its sources, and desil 1 "tidak ada data" with why it is not compared.
  await page.selectOption('#pembanding', basePeriod);
  await waitFor(page, 'the warning that the sources differ', () => !document.getElementById('beda-sumber').hidden);
  const warning = await page.textContent('#beda-sumber');
  check(warning.includes(`${basePeriod} dari P3KE`) && warning.includes(`${period} dari DTKS, verval`),
    `the compare view says the sources differ: "${warning}"`);
  await waitFor(page, 'the reason the change map is empty', () => document.querySelector('#legenda .alasan'));
  const why = await page.textContent('#legenda .alasan');
  check(why === `Tidak sebanding: ${period} tidak memuat desil (${kab.length} kabupaten)`, `the legend says why no change is drawn: "${why}"`);
  await page.goto(`${base}/?indikator=desil_1&tingkat=kabupaten&periode=${period}&pembanding=${basePeriod}&pilih=${kabupaten}`);
  await page.waitForFunction(() => window.lentera && window.lentera.ready, null, { timeout: 30000 });
  await waitFor(page, 'the "Sumber data" panel', () => !document.getElementById('sumber').hidden && document.querySelectorAll('#sumber-wilayah li').length > 0);
  const listed = await page.$$eval('#sumber-wilayah li', (li) => li.map((x) => x.textContent));
  const unit = sources.find((u) => u.kode === kabupaten);
  check(listed.length === unit.sources.length, `the panel lists the ${unit.sources.length} batches counted in ${unit.nama}`);
  for (const s of unit.sources) {
    const text = listed.find((t) => t.includes(s.file_name));
    check(text && text.includes(s.households.toLocaleString('id-ID') + ' rumah tangga') && text.includes('diimpor ' + s.imported_at.slice(0, 10)),
      `"Sumber data" shows ${s.file_name}: ${text}`);
  }
  check(listed.some((t) => t.startsWith('verval') && t.includes('Memuat: jumlah anggota, miskin ekstrem')),
    'the verval file states members and the extreme-poor mark, and no desil');
  const desilRow = await page.textContent('#angka-wilayah tr[data-field="desil_1"] td:last-child');
  check(desilRow.startsWith('tidak ada data') && desilRow.includes(`tidak sebanding: ${period} tidak memuat desil`),
    `desil 1 in the panel: "${desilRow}"`);
  await waitFor(page, 'the household flows', () => !document.getElementById('arus').hidden);
  const flows = await page.$$eval('#arus-wilayah tr', (r) => r.map((x) => x.textContent));
  check(flows.some((t) => t.startsWith('Baru masuk daftar')), `the panel shows the flows between the periods (${flows.length} rows)`);
  await page.screenshot({ path: join(artifacts, '02-sumber-data.png') });

  // 3. A flow of households as the map's indicator.
  await page.selectOption('#indikator', 'transition_entered');
  await waitFor(page, 'the map of households that entered the list',
    () => document.getElementById('judul-legenda').textContent.startsWith('Baru masuk daftar') && window.lentera.choropleth.kabupaten.indicator === 'transition_entered');
  const flowApi = await getJson(`/api/transitions?level=kabupaten&period=${period}&base=${basePeriod}`);
  const drawn = await page.evaluate(() => window.lentera.choropleth.kabupaten.units.map((u) => [u.kode, u.value]));
  check(drawn.every(([kode, v]) => v === flowApi.find((f) => f.kode === kode).entered),
    'the map of "Baru masuk daftar" has the counts of /api/transitions');
  const kec = await getJson(`/api/transitions?level=kecamatan&parent=${kabupaten}&period=${period}&base=${basePeriod}`);
  const want = kec.filter((k) => k.entered > 0).length;
  await waitFor(page, 'the kecamatan of the panel by households that entered',
    (n) => [...document.querySelectorAll('#anak-wilayah li span:last-child')].filter((x) => /^[1-9]/.test(x.textContent)).length === n, want);
  check(true, `the panel ranks the ${kec.length} kecamatan by households that entered (${want} with some)`);
  await page.screenshot({ path: join(artifacts, '03-arus.png') });
});
