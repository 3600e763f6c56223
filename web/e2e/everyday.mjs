// Browser checks of the things a newcomer meets first, over the real Kalimantan Timur
// boundaries: names written once ("Kabupaten Kutai Timur", never "Kabupaten Kabupaten"),
// tooltips that follow the indicator, a priority list that keeps its area, Indonesian table
// headers, "Maksud Anda …?" on a typo, the OGC address for QGIS, the help page, the offline
// base map said in words, and a phone's layout.
//
// Usage: node web/e2e/everyday.mjs BASE_URL ARTIFACT_DIR
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, waitFor, jsonGetter, run } from './lib.mjs';

const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error('usage: node everyday.mjs BASE_URL ARTIFACT_DIR');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const getJson = jsonGetter(base);
const fmt = new Intl.NumberFormat('id-ID', { maximumFractionDigits: 0 });
const doubled = /\b(Kabupaten Kabupaten|Kota Kota|Kecamatan Kecamatan|Desa Desa|Kelurahan Kelurahan)\b/;

/// A point on screen inside the unit `kode` of `level`'s fill layer (its label point, which
/// lies inside the unit), or null.
async function pointIn(page, level, kode) {
  return page.evaluate(async ([level, kode]) => {
    const m = window.lentera.map;
    for (let i = 0; i < 100; i++) {
      const labels = m.getLayer(level + '-nama') ? m.queryRenderedFeatures({ layers: [level + '-nama'] }) : [];
      const box = m.getCanvas().getBoundingClientRect();
      for (const f of labels) {
        if (f.properties.kode !== kode) continue;
        const p = m.project(f.geometry.coordinates);
        const hit = m.queryRenderedFeatures([p.x, p.y], { layers: [level + '-isi'] })[0];
        if (hit && hit.properties.kode === kode) return { x: p.x + box.left, y: p.y + box.top };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return null;
  }, [level, kode]);
}

/// Where the map shows the bounding box `b` (page pixels), with the map's and the unit
/// panel's edges and the zoom.
async function viewOf(page, b) {
  return page.evaluate((b) => {
    const m = window.lentera.map;
    const box = m.getContainer().getBoundingClientRect();
    const panel = document.querySelector('#panel').getBoundingClientRect();
    const a = m.project([b[0], b[3]]);
    const z = m.project([b[2], b[1]]);
    return {
      zoom: m.getZoom(), x0: a.x + box.left, y0: a.y + box.top, x1: z.x + box.left, y1: z.y + box.top,
      top: box.top, bottom: box.bottom, left: box.left, panelLeft: panel.left, panelTop: panel.top, panelRight: panel.right,
    };
  }, b);
}

/// Types `text` into the search box and returns the suggestions listed for it.
async function search(page, text) {
  await page.fill('#cari', text);
  await waitFor(page, `suggestions for "${text}"`, (t) => document.querySelector('#saran').dataset.q === t &&
    document.querySelectorAll('#saran li').length > 0, text);
  return page.$$eval('#saran li', (lis) => lis.map((li) => li.textContent));
}

await run(async (page, problems) => {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await page.goto(base + '/');
  await waitFor(page, 'the map', () => window.lentera && window.lentera.ready);
  const period = await page.evaluate(() => window.lentera.state.period);

  // 1. Names carry their kind once: in the tooltip, the search, the panel and the strip.
  const kutim = await pointIn(page, 'kabupaten', '64.08');
  check(kutim !== null, 'Kutai Timur is on the province map');
  await page.mouse.move(kutim.x, kutim.y);
  await page.waitForSelector('#tooltip:not([hidden])');
  const tipName = await page.textContent('#tooltip strong');
  check(tipName === 'Kabupaten Kutai Timur', `the tooltip names "${tipName}"`);
  const samarinda = await pointIn(page, 'kabupaten', '64.72');
  await page.mouse.move(samarinda.x, samarinda.y);
  await waitFor(page, 'the tooltip of Samarinda', () => document.querySelector('#tooltip strong').textContent.includes('Samarinda'));
  check((await page.textContent('#tooltip strong')) === 'Kota Samarinda', 'a kota is "Kota Samarinda", not "Kota Kota Samarinda"');

  // 2. The tooltip follows the indicator while the pointer rests on the map.
  const answer = await getJson(`/api/choropleth?level=kabupaten&indicator=desil_1_4&period=${period}`);
  const value = answer.units.find((u) => u.kode === '64.72').value;
  const fields = await getJson('/api/fields');
  const label = fields.fields.find((f) => f.name === 'desil_1_4').label;
  await page.evaluate(() => {
    const s = document.querySelector('#indikator');
    s.value = 'desil_1_4';
    s.dispatchEvent(new Event('change'));
  });
  await waitFor(page, 'the tooltip of the new indicator', (l) => document.querySelector('#tooltip').textContent.includes(l), label);
  const tip = await page.textContent('#tooltip');
  check(tip.includes(label + ': ' + fmt.format(value)), `with the pointer still, the tooltip now reads "${label}: ${fmt.format(value)}"`);
  await page.evaluate(() => {
    const s = document.querySelector('#indikator');
    s.value = 'desil_1';
    s.dispatchEvent(new Event('change'));
  });
  await waitFor(page, 'the tooltip of desil 1 again', () => window.lentera.state.indicator === 'desil_1' &&
    document.querySelector('#tooltip').dataset.indikator === 'desil_1');

  const suggestions = await search(page, 'Kutai Timur');
  check(suggestions[0].startsWith('Kabupaten Kutai Timur') && suggestions.every((s) => !doubled.test(s)),
    `the search suggests "${suggestions[0].slice(0, 40)}…" without a doubled kind`);
  await page.keyboard.press('Enter');
  await waitFor(page, 'the panel of Kutai Timur', () => document.querySelector('#nama-wilayah').textContent.includes('Kutai Timur'));
  check((await page.textContent('#nama-wilayah')) === 'Kabupaten Kutai Timur', 'the panel names "Kabupaten Kutai Timur"');
  await waitFor(page, 'the headline strip of Kutai Timur', () => document.querySelector('#ringkasan-wilayah').textContent.includes('Kutai Timur'));
  const strip = await page.textContent('#ringkasan-wilayah');
  check(!doubled.test(strip) && !doubled.test(await page.textContent('#remah')), `the strip and the breadcrumb name it once (${strip})`);

  // 3. The priority list keeps its area when one of its units is chosen, and the map shows
  // that unit whole, beside the panel.
  await search(page, 'Samarinda');
  await page.keyboard.press('Enter');
  await waitFor(page, 'the list inside Samarinda', () => document.querySelector('#wilayah-sasaran').textContent.includes('Di dalam Kota Samarinda') &&
    document.querySelector('#sasaran').dataset.wilayah === '64.72' && document.querySelectorAll('#sasaran li[data-kode]').length === 10);
  const before = await page.$$eval('#sasaran li[data-kode]', (lis) => lis.map((li) => li.dataset.kode));
  check(before.every((k) => k.startsWith('64.72.')), `the list holds desa of Samarinda (${before.slice(0, 3).join(', ')}…)`);
  await waitFor(page, 'the map to settle', () => !window.lentera.map.isMoving());
  await page.click(`#sasaran li[data-kode="${before[2]}"]`);
  await waitFor(page, 'the panel of the third desa', (k) => document.querySelector('#jenis-wilayah').textContent.includes(k), before[2]);
  await waitFor(page, 'the map on the desa', () => !window.lentera.map.isMoving() && window.lentera.map.loaded());
  const heading = await page.textContent('#wilayah-sasaran');
  const after = await page.$$eval('#sasaran li[data-kode]', (lis) => lis.map((li) => li.dataset.kode));
  check(heading.includes('Di dalam Kota Samarinda') && after.join() === before.join(),
    'choosing a unit of the list keeps the list and its area ("Di dalam Kota Samarinda")');
  check(page.url().includes('wilayah=64.72') && page.url().includes('pilih=' + before[2]), 'the URL keeps the list\'s area and the unit chosen');
  const desa = await getJson(`/api/regions/${before[2]}`);
  const view = await viewOf(page, desa.bbox);
  check(view.zoom <= 14.01, `the map does not zoom past street level on a small kelurahan (zoom ${view.zoom.toFixed(2)})`);
  check(view.x0 >= view.left - 1 && view.x1 <= view.panelLeft + 1 && view.y0 >= view.top - 1 && view.y1 <= view.bottom + 1,
    `the whole desa is in view, left of the panel (x ${Math.round(view.x0)}–${Math.round(view.x1)} ≤ ${Math.round(view.panelLeft)})`);
  await page.screenshot({ path: join(artifacts, '01-daftar-desa.png') });

  // 4. The list's table: headers in Bahasa Indonesia, the period, no figure twice.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#unduh-sasaran-csv')]);
  const file = join(artifacts, 'sasaran.csv');
  await download.saveAs(file);
  const lines = readFileSync(file, 'utf8').replace(/^\uFEFF/, '').trim().split(/\r?\n/);
  const headers = lines[0].split(',');
  check(lines[0].startsWith('Peringkat,Kode,Nama,Kecamatan,Kabupaten/Kota,Periode,'), `the CSV's headers are in Bahasa Indonesia (${lines[0]})`);
  check(new Set(headers).size === headers.length, 'no column is there twice');
  check(lines.slice(1).every((l) => l.split(',')[headers.indexOf('Periode')] === period), `every row names the period ${period}`);
  check(lines.length === 11 && lines.slice(1).every((l) => l.split(',')[1].startsWith('64.72.')), 'the file holds the list of the area');

  // The list's area can be left.
  await page.click('#hapus-wilayah-sasaran');
  await waitFor(page, 'the list of everywhere', () => document.querySelector('#wilayah-sasaran').textContent.startsWith('Seluruh wilayah') &&
    document.querySelector('#sasaran').dataset.wilayah === '');
  check(!(await page.getAttribute('#unduh-sasaran-csv', 'href')).includes('parent='), '"Tampilkan seluruh wilayah" ranks the whole province again');

  // 5. A typo: "Maksud Anda …?", and choosing it finds the place.
  for (const [typo, name] of [['Tengarong', 'Tenggarong'], ['Sangata', 'Sangatta'], ['Balikpapn', 'Balikpapan']]) {
    const offered = await search(page, typo);
    check(offered[0] === `Maksud Anda: ${name}?`, `"${typo}" offers "${offered[0]}"`);
  }
  await search(page, 'Tengarong');
  await page.keyboard.press('Enter');
  await waitFor(page, 'units named Tenggarong', () => [...document.querySelectorAll('#saran li[data-kode]')].some((li) => li.textContent.includes('Tenggarong')));
  check((await page.inputValue('#cari')) === 'Tenggarong', 'choosing it searches "Tenggarong" and lists its units');
  await page.keyboard.press('Escape');

  // 6. "Buka di QGIS": the OGC API address, served, and copied.
  const ogc = await page.inputValue('#url-ogc');
  check(ogc === base + '/ogc', `the QGIS box gives ${ogc}`);
  const landing = await getJson('/ogc');
  check(Array.isArray(landing.links) && landing.links.some((l) => l.rel === 'data'), 'that address is an OGC API landing page with its collections');
  await page.click('#salin-ogc');
  await waitFor(page, 'the copy', () => document.querySelector('#status-salin').textContent !== '');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  check(copied === ogc && (await page.textContent('#status-salin')) === 'Alamat disalin.', '"Salin" copies the address');

  // 7. The help page: indicators, methods, sources, glossary, QGIS.
  const [help] = await Promise.all([page.context().waitForEvent('page'), page.click('.tautan-bantuan')]);
  await help.waitForLoadState();
  await waitFor(help, 'the indicator list', () => document.querySelectorAll('#daftar-indikator tbody tr').length > 0);
  const mapFields = fields.fields.filter((f) => f.map !== null);
  const rows = await help.$$eval('#daftar-indikator tbody tr', (trs) => trs.map((tr) => tr.children[0].textContent));
  check(rows.length === mapFields.length && mapFields.every((f) => rows.includes(f.label)), `the help page lists the ${mapFields.length} indicators of the map`);
  const methods = await help.$$eval('#daftar-metode dt', (dts) => dts.map((d) => d.textContent));
  check(methods.length === 4 && methods.includes('Optimal (Ckmeans)'), `and the ${methods.length} methods (${methods.join(', ')})`);
  const terms = await help.$$eval('#istilah dt', (dts) => dts.map((d) => d.textContent));
  check(['Desil', 'P3KE', 'DTSEN', 'Verval'].every((t) => terms.includes(t)), `the glossary explains ${terms.join(', ')}`);
  const sources = await help.textContent('#sumber');
  check(['DTSEN', 'P3KE', 'DTKS'].every((t) => sources.includes(t)), 'the sources are described');
  check((await help.textContent('#url-ogc-bantuan')) === ogc, 'the help page gives the same QGIS address');
  await help.screenshot({ path: join(artifacts, '02-bantuan.png'), fullPage: true });
  await help.close();

  // 8. Offline, the optional base map fails in words, without the browser's raw error.
  await page.route('https://tile.openstreetmap.org/**', (route) => route.abort('internetdisconnected'));
  await page.check('#peta-dasar');
  await waitFor(page, 'the base map message', () => document.querySelector('#status').textContent.startsWith('Peta dasar'));
  const status = await page.textContent('#status');
  check(status.includes('tidak terhubung ke internet') && !/failed|fetch|error|ERR_|http/i.test(status), `the message is in words: "${status}"`);
  await page.screenshot({ path: join(artifacts, '03-peta-dasar-luring.png') });
  await page.uncheck('#peta-dasar');
  await waitFor(page, 'the message gone', () => !document.querySelector('#status').textContent.startsWith('Peta dasar'));
  check(true, 'turning the base map off clears the message');

  // 9. A phone (390×844): the map fills the screen, the controls are a bottom sheet, and a
  // unit's panel leaves the upper map free.
  const phone = await page.context().browser().newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const small = await phone.newPage();
  small.on('console', (m) => { if (m.type() === 'error') problems.push('console (phone): ' + m.text()); });
  small.on('pageerror', (e) => problems.push('page error (phone): ' + e.message));
  await small.goto(base + '/');
  await waitFor(small, 'the map on a phone', () => window.lentera && window.lentera.ready);
  const layout = await small.evaluate(() => {
    const r = (s) => document.querySelector(s).getBoundingClientRect();
    return { scroll: document.documentElement.scrollWidth, map: r('#peta'), sheet: r('.sisi'), header: r('.kepala'), strip: r('#ringkasan') };
  });
  check(layout.scroll <= 390, `nothing overflows the phone's width (${layout.scroll} px)`);
  check(layout.map.height >= 844 * 0.7 && layout.map.width === 390, `the map fills the screen under the header (${Math.round(layout.map.width)}×${Math.round(layout.map.height)})`);
  check(layout.sheet.top >= 844 - 50, `the controls wait in a bottom sheet showing its handle only (top at ${Math.round(layout.sheet.top)})`);
  check(layout.strip.right <= 390, 'the headline strip fits the width');
  // The classes stay readable over the map while the sheet (and its legend) is closed.
  const mini = await small.evaluate(() => {
    const el = document.querySelector('#legenda-mini');
    const r = el.getBoundingClientRect();
    return { chips: [...el.children].map((c) => c.textContent), top: r.top, bottom: r.bottom, right: r.right, shown: getComputedStyle(el).display !== 'none' };
  });
  const legendRows = await small.$$eval('#legenda .kelas .rentang', (rs) => rs.map((r) => r.textContent));
  check(mini.shown && mini.chips.length >= 2 && mini.chips.slice(0, -1).every((c) => legendRows.includes(c)) && mini.chips.at(-1) === 'tidak ada data',
    `a one-line legend over the map gives the classes (${mini.chips.join(' | ')})`);
  check(mini.bottom <= layout.sheet.top && mini.top >= layout.map.top && mini.right <= 390, 'above the sheet\'s handle, inside the map');
  await small.screenshot({ path: join(artifacts, '04-ponsel-peta.png') });
  await small.tap('#buka-pengaturan');
  await waitFor(small, 'the sheet open', () => document.querySelector('.sisi').getBoundingClientRect().top < 844 * 0.5);
  const select = await small.evaluate(() => document.querySelector('#indikator').getBoundingClientRect().toJSON());
  check(select.top >= 0 && select.bottom <= 844 && select.right <= 390, 'opened, the sheet shows the indicator list on screen');
  await small.screenshot({ path: join(artifacts, '05-ponsel-pengaturan.png') });
  await small.tap('#buka-pengaturan');
  await waitFor(small, 'the sheet closed', () => document.querySelector('.sisi').getBoundingClientRect().top >= 844 - 50);
  await small.fill('#cari', 'Samarinda');
  await waitFor(small, 'suggestions on the phone', () => document.querySelectorAll('#saran li[data-kode]').length > 0);
  await small.keyboard.press('Enter');
  await waitFor(small, 'the panel on the phone', () => document.querySelector('#nama-wilayah').textContent.includes('Samarinda'));
  await waitFor(small, 'the map on Samarinda', () => !window.lentera.map.isMoving() && window.lentera.map.loaded());
  const city = await getJson('/api/regions/64.72');
  const open = await viewOf(small, city.bbox);
  check(open.panelTop >= 844 * 0.45 && open.panelRight <= 390, `the panel takes the lower part of the screen only (from y ${Math.round(open.panelTop)})`);
  check(open.panelTop - open.top >= 300, `${Math.round(open.panelTop - open.top)} px of map stay free above it`);
  check(open.y0 >= open.top - 1 && open.y1 <= open.panelTop + 1 && open.x0 >= -1 && open.x1 <= 391,
    'Samarinda is shown whole in the free part of the map');
  await small.screenshot({ path: join(artifacts, '06-ponsel-panel.png') });
  await phone.close();

  // The base-map tiles refused in step 8 are what that check caused, not a problem of the page.
  for (let i = problems.length - 1; i >= 0; i -= 1) {
    if (/openstreetmap|ERR_INTERNET_DISCONNECTED/.test(problems[i])) problems.splice(i, 1);
  }
});
