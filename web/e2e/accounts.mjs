// Browser checks of accounts: an operator and an analyst log in and see only what each may.
//
// Usage: node web/e2e/accounts.mjs BASE_URL ARTIFACT_DIR OPERATOR:PASSWORD:KODE ANALYST:PASSWORD:KODE ADMIN:PASSWORD
// The operator's scope and the analyst's are one kabupaten/kota each (KODE); both must hold
// households with points.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { check, waitFor, run } from './lib.mjs';

const [base, artifacts, operatorArg, analystArg, adminArg] = process.argv.slice(2);
if (!base || !artifacts || !operatorArg || !analystArg || !adminArg) {
  console.error('usage: node accounts.mjs BASE_URL ARTIFACT_DIR USER:PASSWORD:KODE USER:PASSWORD:KODE USER:PASSWORD');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const parse = (a) => { const [user, password, kode] = a.split(':'); return { user, password, kode }; };
const operator = parse(operatorArg);
const analyst = parse(analystArg);
const admin = parse(adminArg);

/// The unit codes of the households of a GeoJSON household export.
function unitCodes(geojson) {
  return JSON.parse(geojson).features.map((f) => f.properties.kode_unit);
}

async function login(page, who) {
  await page.fill('#nama-pengguna', who.user);
  await page.fill('#kata-sandi', who.password);
  await page.click('#masuk');
  await waitFor(page, `${who.user} logged in`, () => !document.querySelector('#menu-pengguna').hidden);
}

async function logout(page) {
  await page.click('#keluar');
  await waitFor(page, 'logged out', () => !document.querySelector('#form-masuk').hidden);
}

/// Pans to the centre of unit `kode` at zoom 12 and waits for drawn household points.
async function pointsDrawnIn(page, kode) {
  const detail = await (await page.request.get(base + '/api/regions/' + kode)).json();
  const [w, s, e, n] = detail.bbox;
  await page.evaluate(([lon, lat]) => window.lentera.map.jumpTo({ center: [lon, lat], zoom: 11 }), [(w + e) / 2, (s + n) / 2]);
  await waitFor(page, 'household points drawn', () => {
    const m = window.lentera.map;
    return m.getLayer('rumah-tangga-titik') && m.loaded() &&
      m.queryRenderedFeatures({ layers: ['rumah-tangga-titik', 'rumah-tangga-kelompok'] }).length > 0;
  });
}

await run(async (page, problems) => {
  const householdRequests = [];
  page.on('request', (r) => { if (r.url().includes('/tiles/households')) householdRequests.push(r.url()); });
  await page.goto(base + '/');
  await waitFor(page, 'the map', () => window.lentera && window.lentera.ready);

  // Anonymous: the login form, no household controls, no household request.
  check(await page.isVisible('#form-masuk'), 'an anonymous visitor sees the login form');
  check(!(await page.isVisible('#kontrol-rumah-tangga')), 'an anonymous visitor sees no household controls');
  const anon = await page.request.get(base + '/api/export/households.csv');
  check(anon.status() === 401, `an anonymous household export is refused (${anon.status()})`);

  // A wrong password is refused in words.
  await page.fill('#nama-pengguna', operator.user);
  await page.fill('#kata-sandi', 'bukan-kata-sandinya');
  await page.click('#masuk');
  await waitFor(page, 'the refusal', () => document.querySelector('#status-masuk').textContent.includes('salah'));
  check(true, 'a wrong password reads "Nama pengguna atau kata sandi salah"');
  // The refused login is the one expected error response.
  const expected = problems.filter((p) => p.includes('/api/session') || p.includes('401 (Unauthorized)'));
  check(expected.length <= 2, `the refused login is the only error response (${expected.join(' | ')})`);
  problems.splice(0, problems.length, ...problems.filter((p) => !expected.includes(p)));

  // The operator: household points of the own kabupaten/kota, exports only inside it.
  await login(page, operator);
  const info = await page.textContent('#info-pengguna');
  check(info.includes(operator.user) && info.includes('Operator') && info.includes(operator.kode), `the user menu names the operator, role and scope (${info})`);
  check(await page.isVisible('#kontrol-rumah-tangga'), 'the operator sees the household controls');
  check(!(await page.isVisible('#buka-audit')), 'the operator sees no audit trail button');
  check(!(await page.isVisible('#baris-tujuan')), 'the operator is not asked for a purpose');
  await pointsDrawnIn(page, operator.kode);
  await page.screenshot({ path: join(artifacts, '01-operator.png') });
  const opCodes = unitCodes(await (await page.request.get(base + '/api/export/households.geojson')).text());
  check(opCodes.length > 0 && opCodes.every((k) => k === operator.kode || k.startsWith(operator.kode + '.')),
    `the operator's export holds ${opCodes.length} households, all inside ${operator.kode}`);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'lentera_sesi');
  check(session && session.httpOnly && session.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict');
  check(await page.evaluate(() => document.cookie.indexOf('lentera_sesi') < 0), 'the page script cannot read the session cookie');
  await logout(page);
  check(!(await page.isVisible('#kontrol-rumah-tangga')) && !(await page.evaluate(() => Boolean(window.lentera.map.getLayer('rumah-tangga-titik')))),
    'after logout the household layer and controls are gone');

  // The analyst: household data only with a stated purpose, only inside the scope granted.
  householdRequests.length = 0;
  await login(page, analyst);
  check(await page.isVisible('#baris-tujuan'), 'the analyst is asked for a purpose');
  check(await page.isDisabled('#tampil-rumah-tangga'), 'without a purpose the analyst cannot show household points');
  const noPurpose = await page.request.get(base + '/api/export/households.csv');
  check(noPurpose.status() === 400 && (await noPurpose.text()).includes('purpose'), `an analyst export without a purpose is refused in words (${noPurpose.status()})`);
  check(householdRequests.length === 0, 'no household tile is asked for before a purpose is given');
  await page.fill('#tujuan', 'uji peramban: verifikasi sasaran');
  await page.dispatchEvent('#tujuan', 'change');
  await pointsDrawnIn(page, analyst.kode);
  check(householdRequests.every((u) => u.includes('purpose=')), `every household tile request states the purpose (${householdRequests.length})`);
  const href = await page.getAttribute('#unduh-rumah-tangga', 'href');
  check(href && href.includes('purpose='), 'the analyst\'s download link carries the purpose');
  const anCodes = unitCodes(await (await page.request.get(base + href.replace('households.csv', 'households.geojson'))).text());
  check(anCodes.length > 0 && anCodes.every((k) => k === analyst.kode || k.startsWith(analyst.kode + '.')),
    `the analyst's export holds ${anCodes.length} households, all inside ${analyst.kode}`);
  await page.screenshot({ path: join(artifacts, '02-analis.png') });
  await logout(page);

  // The admin: the audit trail lists the reads above, with user, households and purpose.
  await login(page, admin);
  check(await page.isVisible('#buka-audit'), 'the admin sees the audit trail button');
  await page.click('#buka-audit');
  await waitFor(page, 'the audit rows', () => document.querySelectorAll('#audit-baris tr').length > 0);
  await page.selectOption('#audit-tindakan', 'household_read');
  await waitFor(page, 'the household reads', () => {
    const rows = [...document.querySelectorAll('#audit-baris tr')];
    return rows.length > 0 && rows.every((r) => r.children[3].textContent === 'akses data RT');
  });
  const rows = await page.$$eval('#audit-baris tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  check(rows.some((r) => r[1] === operator.user && r[4].includes('/api/export/households')),
    `the trail lists the operator's export (${rows.length} household reads)`);
  check(rows.some((r) => r[1] === analyst.user && r[6] === 'uji peramban: verifikasi sasaran' && Number(r[5].replace(/\./g, '')) > 0),
    'the trail lists the analyst\'s reads with households and purpose');
  await page.screenshot({ path: join(artifacts, '03-jejak-audit.png') });
  await page.click('#audit form button');
  await logout(page);
});
