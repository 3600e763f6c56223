// Browser checks of the verval round: the operator uploads a workbook, reviews a household by
// clicking a candidate desa, submits; the admin accepts and reads the round's status table
// and map.
//
// Usage: node web/e2e/verval.mjs BASE_URL ARTIFACT_DIR OPERATOR:PASSWORD:KODE ADMIN:PASSWORD FILE PERIOD
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { check, waitFor, run } from './lib.mjs';

const [base, artifacts, operatorArg, adminArg, file, period] = process.argv.slice(2);
if (!base || !artifacts || !operatorArg || !adminArg || !file || !period) {
  console.error('usage: node verval.mjs BASE_URL ARTIFACT_DIR USER:PASSWORD:KODE USER:PASSWORD FILE PERIOD');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const parse = (a) => { const [user, password, kode] = a.split(':'); return { user, password, kode }; };
const operator = parse(operatorArg);
const admin = parse(adminArg);

async function login(page, who) {
  await page.fill('#nama-pengguna', who.user);
  await page.fill('#kata-sandi', who.password);
  await page.click('#masuk');
  await waitFor(page, `${who.user} logged in`, () => !document.querySelector('#menu-pengguna').hidden);
  await waitFor(page, 'the verval section', () => !document.querySelector('#verval').hidden);
}

async function logout(page) {
  await page.click('#keluar');
  await waitFor(page, 'logged out', () => !document.querySelector('#form-masuk').hidden);
}

const toReview = (page) => page.evaluate(() => {
  const m = document.querySelector('#ringkas-tinjau').textContent.match(/Perlu ditinjau: ([\d.]+)/);
  return m ? Number(m[1].replaceAll('.', '')) : null;
});

await run(async (page) => {
  await page.goto(base + '/');
  await waitFor(page, 'the map', () => window.lentera && window.lentera.ready);
  check(!(await page.isVisible('#verval')), 'an anonymous visitor sees no verval section');

  // The operator uploads the workbook.
  await login(page, operator);
  await waitFor(page, 'the round is named', () => document.querySelector('#putaran-info').textContent.includes('Putaran'));
  check(await page.inputValue('#unggah-periode') === period, `the upload period is the open round's (${period})`);
  await page.setInputFiles('#berkas-unggah', file);
  await waitFor(page, 'the import to end', () => !document.querySelector('#ringkasan-unggah').hidden ||
    document.querySelector('#kemajuan-teks').textContent.startsWith('Unggahan gagal'));
  check(!(await page.isHidden('#ringkasan-unggah')), 'the import summary is shown: ' + await page.textContent('#kemajuan-teks'));
  const summary = await page.textContent('#ringkasan-unggah');
  check(summary.includes('draf'), 'the upload is a draft');
  check(summary.includes('di luar wilayah Anda'), 'rows of other kabupaten are counted as outside the area');
  check(await page.evaluate(() => document.querySelector('#kemajuan-kirim').value === 1), 'the transfer bar reached the end');
  check(await page.isVisible('text=Laporan penolakan (Excel)'), 'the reject report can be downloaded');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Laporan penolakan (Excel)')]);
  check(/penolakan-batch-\d+\.xlsx/.test(download.suggestedFilename()), `the reject report is a workbook (${download.suggestedFilename()})`);
  await page.screenshot({ path: join(artifacts, 'verval-unggah.png') });

  // Review: pick a candidate desa for one household.
  await page.click('text=Tinjau sekarang');
  await waitFor(page, 'the review list', () => document.querySelectorAll('#daftar-tinjau li[data-i]').length > 0);
  const before = await toReview(page);
  check(before > 0, `households to review are listed (${before})`);
  const candidate = page.locator('#daftar-tinjau li[data-i] .kandidat .btn').first();
  check(await candidate.count() === 1, 'a household with a candidate desa is listed');
  await candidate.hover();
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(artifacts, 'verval-tinjau.png') });
  await candidate.click();
  await waitFor(page, 'the count to drop', (n) => {
    const m = document.querySelector('#ringkas-tinjau').textContent.match(/Perlu ditinjau: ([\d.]+)/);
    return m && Number(m[1].replaceAll('.', '')) === n - 1;
  }, before);
  check(true, `picking a candidate leaves ${before - 1} to review`);
  await page.click('#tutup-tinjau');

  // Submit.
  await page.click('#daftar-batch [data-aksi="submit"]');
  await waitFor(page, 'the batch submitted', () => document.querySelector('#daftar-batch .lencana').textContent === 'Diserahkan');
  await logout(page);

  // The admin accepts and reads the round's status.
  await login(page, admin);
  await waitFor(page, 'the submitted batch', () => document.querySelector('#daftar-batch [data-aksi="accept"]'));
  await page.click('#daftar-batch [data-aksi="accept"]');
  await waitFor(page, 'the batch accepted', () => document.querySelector('#daftar-batch .lencana').textContent === 'Diterima');
  await page.click('#buka-status-verval');
  await waitFor(page, 'the status table', () => document.querySelectorAll('#tabel-status-verval tbody tr').length > 0);
  const rows = await page.$$eval('#tabel-status-verval tbody tr', (trs) => trs.map((tr) => ({
    kode: tr.dataset.kode, status: tr.querySelector('.lencana').textContent,
  })));
  const mine = rows.find((r) => r.kode === operator.kode);
  check(mine && mine.status === 'Diterima', `${operator.kode} is accepted in the status table`);
  check(rows.filter((r) => r.status === 'Belum').length === rows.length - 1, `the other ${rows.length - 1} have not delivered`);
  check(await page.evaluate(() => Boolean(window.lentera.map.getLayer('verval-status'))), 'the map is coloured by status');
  check((await page.textContent('#ringkas-status-verval')).includes('Tenggat'), 'the deadline is shown');
  await page.waitForTimeout(800);
  await page.screenshot({ path: join(artifacts, 'verval-status.png') });
});
