// End-to-end test of the web map in headless Chromium (playwright-core).
//
// Usage: node web/e2e/map.mjs BASE_URL ARTIFACT_DIR
// Exits non-zero with the failed check in words. Prints one line per check and the time to
// the first rendered choropleth; saves screenshots into ARTIFACT_DIR.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, waitFor, jsonGetter, run } from './lib.mjs';

const [base, artifacts] = process.argv.slice(2);
// `kaltim` (the real boundaries: Samarinda, Palaran) or `demo` (the synthetic province).
const place = process.env.LENTERA_E2E_PLACE || 'kaltim';
if (!base || !artifacts) {
  console.error('usage: node map.mjs BASE_URL ARTIFACT_DIR');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

/// Checks that the legend shows the classes, colours, labels and counts /api/choropleth gives
/// for `level`, and returns that answer.
async function legendMatchesApi(page, level, period) {
  const api = await getJson(`/api/choropleth?level=${level}&indicator=desil_1&method=ckmeans&classes=5&period=${period}`);
  await page.waitForFunction((l) => window.lentera.choropleth[l] && document.querySelector('#legenda p.kecil').textContent.includes(
    { kabupaten: 'Kabupaten', kecamatan: 'Kecamatan', desa: 'Desa' }[l]), level);
  const legend = await page.$$eval('#legenda .kelas', (rows) => rows.map((r) => ({
    colour: getComputedStyle(r.querySelector('.warna')).backgroundColor,
    label: r.querySelector('.rentang').textContent,
    count: r.querySelector('.jumlah').textContent,
  })));
  const hidden = api.suppressed ? 1 : 0;
  check(legend.length === api.colors.length + hidden + 1, `${level}: the legend has the ${api.colors.length} classes of the API${hidden ? ', the hidden small units' : ''} and "tidak ada data"`);
  if (hidden) {
    const row = legend[legend.length - 2];
    check(row.label === api.suppressed_label && row.label.startsWith('< 5') && row.count.startsWith(new Intl.NumberFormat('id-ID').format(api.suppressed) + ' '),
      `${level}: the legend counts ${api.suppressed} units hidden as "${api.suppressed_label}"`);
  }
  const rgb = (hex) => `rgb(${parseInt(hex.slice(1, 3), 16)}, ${parseInt(hex.slice(3, 5), 16)}, ${parseInt(hex.slice(5, 7), 16)})`;
  const fmt = new Intl.NumberFormat('id-ID');
  api.colors.forEach((c, i) => {
    check(legend[i].colour === rgb(c) && legend[i].label === api.labels[i] && legend[i].count.startsWith(fmt.format(api.counts[i]) + ' '),
      `${level}: legend class ${i + 1} is "${api.labels[i]}" in ${c} with ${api.counts[i]} units, as the API says`);
  });
  const last = legend[legend.length - 1];
  check(last.label === api.no_data_label && last.count.startsWith(fmt.format(api.no_data) + ' '),
    `${level}: the last legend row is "${api.no_data_label}" with ${api.no_data} units`);
  return api;
}

const getJson = jsonGetter(base);

await run(async (page, problems) => {
  const householdRequests = [];
  // Every request the page makes, to check that none leaves the server (labels included).
  const elsewhere = [];
  const glyphRequests = [];
  page.on('request', (r) => {
    const url = r.url();
    if (url.includes('/tiles/households')) householdRequests.push(url);
    if (url.includes('/fonts/')) glyphRequests.push(url);
    if (!url.startsWith(base) && !url.startsWith('data:') && !url.startsWith('blob:')) elsewhere.push(url);
  });

  // 1. The province choropleth (kabupaten/kota at the province's zoom).
  const t0 = Date.now();
  await page.goto(base + '/');
  await page.waitForFunction(() => window.lentera && window.lentera.ready, null, { timeout: 30000 });
  const firstRender = await page.evaluate(() => window.lentera.firstRenderMs);
  const timings = await page.evaluate(() => JSON.stringify(window.lentera.timings));
  console.log(`first render of the province choropleth: ${firstRender} ms after the script started, ${Date.now() - t0} ms after navigation (steps after the script started, ms: ${timings})`);
  await page.screenshot({ path: join(artifacts, '01-provinsi.png') });
  const period = await page.evaluate(() => window.lentera.state.period);
  // The level the province's zoom shows (kabupaten/kota for Kaltim; a small province may
  // already show kecamatan).
  const firstLevel = await page.evaluate(() => window.lentera.shownLevel());
  await legendMatchesApi(page, firstLevel, period);

  // 1a. "Unduh gambar peta" gives the PNG of the map shown.
  const [picture] = await Promise.all([page.waitForEvent('download'), page.click('#unduh-peta')]);
  const pictureFile = join(artifacts, 'unduh-peta.png');
  await picture.saveAs(pictureFile);
  const png = readFileSync(pictureFile);
  check(png.subarray(1, 4).toString() === 'PNG' && png.length > 20000, `"Unduh gambar peta" downloads a PNG of the map (${png.length} bytes, ${picture.suggestedFilename()})`);
  check(picture.url().includes('level=' + firstLevel) && picture.url().includes('period=' + period), 'the picture is of the level and period shown');

  // 1b. Place names: the kabupaten/kota are named at the province's zoom, with glyphs from
  // this server.
  const kabupatenNames = await page.evaluate(async () => {
    const m = window.lentera.map;
    const layer = window.lentera.shownLevel() + '-nama';
    for (let i = 0; i < 100; i++) {
      const fs = m.getLayer(layer) ? m.queryRenderedFeatures({ layers: [layer] }) : [];
      if (fs.length && m.loaded()) return fs.map((f) => f.properties.label);
      await new Promise((r) => setTimeout(r, 100));
    }
    return [];
  });
  check(kabupatenNames.length >= 5, `the province view names its units (${kabupatenNames.length} labels: ${kabupatenNames.slice(0, 4).join(', ')}…)`);
  if (place === 'kaltim') {
    check(kabupatenNames.includes('Kutai Timur') && kabupatenNames.includes('Kutai Kartanegara'),
      'Kutai Timur and Kutai Kartanegara are both named on the province map');
  }
  check(glyphRequests.length > 0 && glyphRequests.every((u) => u.startsWith(base + '/fonts/')), `label glyphs come from this server (${glyphRequests.length} glyph ranges)`);
  await page.screenshot({ path: join(artifacts, '01-provinsi-nama.png') });

  // 1c. "Desa/Kelurahan" at the province's zoom colours every desa (a province's 1,038 desa
  // are drawn at every zoom).
  await page.selectOption('#tingkat', 'desa');
  await waitFor(page, 'desa coloured at the province zoom', () => {
    const m = window.lentera.map;
    return m.loaded() && window.lentera.choropleth.desa && new Set(m.queryRenderedFeatures({ layers: ['desa-isi'] }).map((f) => f.properties.kode)).size > 300;
  });
  const desaShown = await page.evaluate(() => new Set(window.lentera.map.queryRenderedFeatures({ layers: ['desa-isi'] }).map((f) => f.properties.kode)).size);
  check(desaShown > 300, `choosing Desa/Kelurahan at the province's zoom colours the desa (${desaShown} on screen)`);
  check(!(await page.textContent('#status')).includes('perbesar'), 'and does not ask to zoom in');
  await page.screenshot({ path: join(artifacts, '01-provinsi-desa.png') });
  await page.selectOption('#tingkat', 'otomatis');
  await waitFor(page, 'the automatic level again', () => window.lentera.shownLevel() !== 'desa' || window.lentera.map.getZoom() >= 10);

  // 1d. The headline strip gives the province's figures as /api/regions does.
  await page.waitForSelector('#ringkasan:not([hidden])');
  const provinces = await getJson('/api/indicators?level=provinsi&period=' + period);
  const province = await getJson(`/api/regions/${provinces[0].kode}?period=${period}`);
  const strip = await page.textContent('#ringkasan-rt');
  check(strip === new Intl.NumberFormat('id-ID').format(province.households), `the headline strip shows the province's ${province.households} households (${strip})`);

  // 2. Zoomed in on a kota (Samarinda in Kaltim), the desa appear, coloured as the API classes them.
  const kabupaten = await getJson('/api/indicators?level=kabupaten');
  const kota = place === 'kaltim' ? kabupaten.find((u) => u.kode === '64.72') : kabupaten.find((u) => u.jenis === 'kota');
  const city = await getJson('/api/regions/' + kota.kode);
  await page.evaluate((b) => window.lentera.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { duration: 0 }), city.bbox);
  await page.waitForFunction(() => {
    const m = window.lentera.map;
    return m.loaded() && window.lentera.choropleth.desa && m.queryRenderedFeatures({ layers: ['desa-isi'] }).length > 0;
  }, null, { timeout: 30000 });
  const rendered = await page.evaluate(() => {
    const fs = window.lentera.map.queryRenderedFeatures({ layers: ['desa-isi'] });
    return { count: new Set(fs.map((f) => f.properties.kode)).size, sample: fs[0].properties };
  });
  check(rendered.count > 20, `the map renders desa polygons (${rendered.count} distinct desa on screen)`);
  check(/^\d\d\.\d\d\.\d\d\.\d{4}$/.test(rendered.sample.kode), 'rendered features carry their Kemendagri code');
  const api = await legendMatchesApi(page, 'desa', period);
  const colours = await page.evaluate((apiUnits) => {
    const byKode = new Map(apiUnits.map((u) => [u.kode, u.class]));
    const fs = window.lentera.map.queryRenderedFeatures({ layers: ['desa-isi'] });
    let agree = 0;
    for (const f of fs) if ((f.state.k ?? -1) === (byKode.get(f.properties.kode) ?? -1)) agree += 1;
    return { agree, total: fs.length };
  }, api.units);
  check(colours.agree === colours.total, `every rendered desa has the class the API gives it (${colours.agree}/${colours.total})`);
  const desaNames = await page.evaluate(async () => {
    const m = window.lentera.map;
    for (let i = 0; i < 100; i++) {
      const fs = m.queryRenderedFeatures({ layers: ['desa-nama'] });
      if (fs.length && m.loaded()) return fs.map((f) => f.properties.label);
      await new Promise((r) => setTimeout(r, 100));
    }
    return [];
  });
  check(desaNames.length >= 5, `zoomed in, the desa are named (${desaNames.length} labels: ${desaNames.slice(0, 4).join(', ')}…)`);
  await page.screenshot({ path: join(artifacts, '02-samarinda-desa.png') });

  // 3. Clicking a desa opens its panel with its figures.
  const target = await page.evaluate(() => {
    const m = window.lentera.map;
    const fs = m.queryRenderedFeatures({ layers: ['desa-isi'] });
    const canvas = m.getCanvas().getBoundingClientRect();
    // A desa whose centre point lies on the screen and inside that desa.
    for (const f of fs) {
      const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
      const lon = ring.reduce((s, c) => s + c[0], 0) / ring.length;
      const lat = ring.reduce((s, c) => s + c[1], 0) / ring.length;
      const p = m.project([lon, lat]);
      if (p.x < 40 || p.y < 130 || p.x > canvas.width - 380 || p.y > canvas.height - 40) continue;
      const hit = m.queryRenderedFeatures([p.x, p.y], { layers: ['desa-isi'] })[0];
      if (hit && hit.properties.kode === f.properties.kode) {
        return { kode: f.properties.kode, x: p.x + canvas.left, y: p.y + canvas.top };
      }
    }
    return null;
  });
  check(target !== null, 'a desa can be found on screen to click');
  await page.mouse.move(target.x, target.y);
  await page.waitForSelector('#tooltip:not([hidden])');
  const tip = await page.textContent('#tooltip');
  check(tip.includes(target.kode), `hovering shows a tooltip with the desa's code (${tip.slice(0, 80)}…)`);
  check(/Rumah tangga: [\d.]+ · desil 1: [\d.]+/.test(tip), 'the tooltip gives the key figures of the period');
  await page.mouse.click(target.x, target.y);
  await page.waitForSelector('#panel:not([hidden])');
  await page.waitForFunction((k) => document.querySelector('#jenis-wilayah').textContent.includes(k), target.kode);
  const region = await getJson(`/api/regions/${target.kode}?period=${period}`);
  const panelTitle = await page.textContent('#nama-wilayah');
  check(panelTitle.includes(region.nama), `the panel names the clicked desa (${region.nama})`);
  const figures = await page.$$eval('#angka-wilayah tr', (rows) => Object.fromEntries(rows.map((r) => [r.dataset.field, r.children[1].textContent])));
  const fmt = new Intl.NumberFormat('id-ID', { maximumFractionDigits: 0 });
  for (const field of ['households', 'desil_1', 'desil_1_4']) {
    const want = region[field] === null ? 'tidak ada data' : fmt.format(region[field]);
    check(figures[field] === want, `the panel shows ${field} = ${want} as /api/regions says`);
  }
  // The printable profile of the unit.
  const profileHref = await page.getAttribute('#unduh-profil', 'href');
  check(profileHref === `/api/profile/${target.kode}.pdf`, `the panel links the unit's PDF profile (${profileHref})`);
  const profile = await page.request.get(base + profileHref);
  check(profile.ok() && (await profile.body()).subarray(0, 5).toString() === '%PDF-', 'the profile is a PDF');

  // The unit's trend across the periods, with its parent and the province, and the target.
  await page.waitForSelector('#tren:not([hidden])');
  const trend = await getJson(`/api/trend?kode=${target.kode}&indicator=desil_1`);
  const drawn = await page.$$eval('#grafik-tren circle', (cs) => cs.length);
  const withValues = trend.series.reduce((n, s) => n + s.points.filter((p) => p.value !== null).length, 0);
  check(drawn === withValues, `the trend chart draws the ${withValues} values /api/trend gives (${drawn} points)`);
  const keysShown = await page.$$eval('#kunci-tren li', (lis) => lis.map((li) => li.textContent));
  check(keysShown.length === trend.series.length && trend.series.every((s, i) => keysShown[i] === s.nama), `the chart's key names each series /api/trend gives (${keysShown.join(', ')})`);
  if (trend.goal) {
    const line = await page.$$eval('#grafik-tren .target', (ls) => ls.map((l) => l.getAttribute('y1')));
    check(line.length === 1, `the target line of ${trend.goal.year} is drawn (at y ${line[0]})`);
  }
  const crumbs = await page.textContent('#remah');
  check(region.parents.every((p) => crumbs.includes(p.nama)), `the breadcrumb lists its parents (${crumbs.trim()})`);
  await page.waitForFunction(() => !window.lentera.map.isMoving());
  await page.screenshot({ path: join(artifacts, '02-panel-desa.png') });
  // Esc closes the panel (the search below opens another).
  await page.keyboard.press('Escape');
  await page.waitForSelector('#panel', { state: 'hidden' });
  check(true, 'Esc closes the unit panel');

  // 4. Searching "Palaran" finds the kecamatan (in the demo: the first kecamatan of the kota).
  const kecamatan = place === 'kaltim'
    ? { kode: '64.72.01', nama: 'Palaran' }
    : city.children.slice().sort((a, b) => a.kode.localeCompare(b.kode))[0];
  await page.fill('#cari', kecamatan.nama);
  await page.waitForSelector('#saran li');
  const suggestions = await page.$$eval('#saran li', (lis) => lis.map((li) => li.textContent));
  check(suggestions.some((s) => s.startsWith('Kecamatan ' + kecamatan.nama) && s.includes(kecamatan.kode)),
    `searching "${kecamatan.nama}" suggests the kecamatan (${suggestions[0]})`);
  const index = suggestions.findIndex((s) => s.includes(kecamatan.kode));
  for (let i = 0; i < index; i += 1) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await waitFor(page, 'the panel of the kecamatan after Enter', (n) => document.querySelector('#nama-wilayah').textContent.includes(n), kecamatan.nama);
  await waitFor(page, 'the map to settle on the kecamatan', () => !window.lentera.map.isMoving() && window.lentera.map.loaded());
  await page.screenshot({ path: join(artifacts, '03-cari-palaran.png') });

  // 5. The top-N list and its export: a file with N rows.
  // Palaran has five kelurahan: ask for three.
  await page.fill('#jumlah-sasaran', '3');
  await page.selectOption('#tingkat-sasaran', 'desa');
  await page.dispatchEvent('#jumlah-sasaran', 'change');
  await waitFor(page, 'a top-3 list', () => document.querySelectorAll('#sasaran li').length === 3);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#unduh-sasaran-csv')]);
  const file = join(artifacts, 'sasaran.csv');
  await download.saveAs(file);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  check(lines.length === 4, `the top-3 export has a header and 3 rows (${lines.length - 1} rows)`);
  check(lines.slice(1).every((l) => l.includes(kecamatan.kode + '.')), 'the exported rows are desa of the searched kecamatan');

  // 6. Change between two periods, with a diverging palette.
  const periods = await getJson('/api/periods');
  if (periods.length >= 2) {
    await page.selectOption('#tingkat', 'kecamatan');
    await page.selectOption('#pembanding', periods[0].period);
    await page.waitForFunction(() => document.querySelector('#judul-legenda').textContent.includes('perubahan'));
    const change = await getJson(`/api/choropleth?level=kecamatan&indicator=desil_1_change&base=${periods[0].period}&period=${period}&method=ckmeans&classes=5`);
    check(change.palette.includes('RdBu'), `the change view uses the diverging palette (${change.palette})`);
    await page.screenshot({ path: join(artifacts, '04-perubahan.png') });
    // Back to the period alone: the map shows its classes again, whatever order answers came in.
    await page.selectOption('#pembanding', '');
    await waitFor(page, 'the legend without change', () => !document.querySelector('#judul-legenda').textContent.includes('perubahan'));
    const plain = await getJson(`/api/choropleth?level=kecamatan&indicator=desil_1&period=${period}&method=ckmeans&classes=5`);
    await waitFor(page, 'the kecamatan classes of the period alone', (units) => {
      const byKode = new Map(units.map((u) => [u.kode, u.class ?? -1]));
      const m = window.lentera.map;
      const fs = m.queryRenderedFeatures({ layers: ['kecamatan-isi'] });
      return m.loaded() && fs.length > 0 && fs.every((f) => (f.state.k ?? -1) === byKode.get(f.properties.kode));
    }, plain.units);
    check(true, 'leaving the change view restores the period\'s classes on the map');
  }

  // 7. The URL keeps the view.
  const url = page.url();
  check(/indikator=desil_1/.test(url) && /posisi=/.test(url) && url.includes('pilih=' + kecamatan.kode), `the URL keeps the view (${url.replace(base, '')})`);
  const shared = await page.context().newPage();
  shared.on('pageerror', (e) => problems.push('page error (shared view): ' + e.message));
  await shared.goto(url);
  await waitFor(shared, 'the shared view', (n) => window.lentera && window.lentera.ready && document.querySelector('#nama-wilayah').textContent.includes(n), kecamatan.nama);
  check(true, 'a shared URL reopens the same unit');
  await shared.close();

  // 6b. With a kabupaten selected on the kabupaten map, "Unduh lapisan (GeoJSON)" exports
  // its units (not an empty file), and the list heading names it.
  if (place === 'kaltim') {
    await page.selectOption('#tingkat', 'kabupaten');
    await page.fill('#cari', 'Kutai Timur');
    await page.waitForSelector('#saran li');
    await page.keyboard.press('Enter');
    await waitFor(page, 'the panel of Kutai Timur', () => document.querySelector('#nama-wilayah').textContent.includes('Kutai Timur'));
    await waitFor(page, 'the export link inside 64.08', () => document.querySelector('#unduh-geojson').href.includes('parent=64.08'));
    const href = await page.getAttribute('#unduh-geojson', 'href');
    const layer = await getJson(href);
    check(layer.features.length > 0 && layer.features.every((f) => f.properties.kode.startsWith('64.08.')),
      `with Kutai Timur selected the GeoJSON export holds its ${layer.features.length} units (${href})`);
    const heading = await page.textContent('#wilayah-sasaran');
    check(heading.includes('Kutai Timur') && !heading.includes('64.08'), `the list heading names the area (${heading})`);
    await page.selectOption('#tingkat', 'otomatis');
  }

  // 8. Nothing the page asked for left this server.
  check(elsewhere.length === 0, `no request leaves the server (${elsewhere.slice(0, 3).join(', ') || 'none'})`);
  // An anonymous visitor never asks for household data (logins: accounts.mjs).
  check(householdRequests.length === 0, 'without a login the household layer is never requested');
  check(!(await page.isVisible('#kontrol-rumah-tangga')), 'without a login there are no household controls');

  // 9. The synthetic label is shown exactly when the data is synthetic.
  const health = await getJson('/healthz');
  const labelShown = await page.isVisible('#label-sintetis');
  check(labelShown === (health.dataset === 'synthetic'), `the synthetic-data label is ${labelShown ? 'shown' : 'hidden'} for dataset ${health.dataset}`);

  // 10. A laptop screen.
  await page.setViewportSize({ width: 1024, height: 640 });
  await page.waitForTimeout(100);
  await page.screenshot({ path: join(artifacts, '06-laptop.png') });

});
