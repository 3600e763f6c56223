// Browser checks of the "Program" view: an admin registers a programme, uploads its
// beneficiary list, shows its coverage gap on the map, builds a target with a budget
// cut-off, downloads the household list, saves the list and compares it with the period.
//
// Usage: node web/e2e/programs.mjs BASE_URL ARTIFACT_DIR ADMIN:PASSWORD LIST_FILE PERIOD AREA
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, waitFor, run } from './lib.mjs';

const [base, artifacts, adminArg, listFile, period, area] = process.argv.slice(2);
if (!base || !artifacts || !adminArg || !listFile || !period || !area) {
  console.error('usage: node programs.mjs BASE_URL ARTIFACT_DIR USER:PASSWORD LIST_FILE PERIOD AREA');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const [user, password] = adminArg.split(':');

await run(async (page) => {
  await page.goto(base + '/');
  await waitFor(page, 'the map', () => window.lentera && window.lentera.ready);
  check(!(await page.isVisible('#program')), 'an anonymous visitor sees no programme view');
  await page.fill('#nama-pengguna', user);
  await page.fill('#kata-sandi', password);
  await page.click('#masuk');
  await waitFor(page, 'the programme view', () => !document.querySelector('#program').hidden);

  // Register a programme.
  await page.click('#program-kelola summary');
  await page.fill('#program-nama', 'Bedah Rumah');
  await page.fill('#program-opd', 'Dinas Perumahan');
  await page.fill('#program-desil', '1-2');
  await page.fill('#program-anggaran', '600000000');
  await page.fill('#program-biaya', '20000000');
  await page.click('#form-program button[type="submit"]');
  await waitFor(page, 'the programme registered and chosen', () =>
    document.querySelector('#program-pilih').selectedOptions[0].textContent.startsWith('Bedah Rumah'));
  check((await page.textContent('#program-info')).includes('belum ada daftar penerima'), 'a new programme has no list yet');

  // Upload its beneficiary list.
  await page.fill('#program-periode', period);
  await page.setInputFiles('#program-berkas', listFile);
  await waitFor(page, 'the list matched', () => document.querySelector('#program-laporan').textContent.includes('cocok dengan rumah tangga'));
  const report = await page.textContent('#program-laporan');
  check(/\d+ cocok dengan rumah tangga BNBA/.test(report), 'the upload says how many rows match: ' + report.slice(0, 160));
  check(report.includes('tidak cocok'), 'rows matching nothing are counted');
  check(await page.isVisible('text=Laporan baris ditolak / tidak cocok (CSV)'), 'the unmatched rows can be downloaded');
  await waitFor(page, 'the gap list', () => document.querySelectorAll('#program-celah tr').length > 1);
  check((await page.textContent('#program-info')).includes('cocok dengan BNBA'), 'the programme shows its list');

  // The coverage gap on the map.
  await page.click('#program-peta');
  await waitFor(page, 'the legend of the programme', () => document.querySelector('#judul-legenda').textContent.includes('Sasaran belum menerima Bedah Rumah'));
  await page.waitForTimeout(800);
  await page.screenshot({ path: join(artifacts, 'program-peta.png') });

  // Build a target with the budget's cut-off.
  await page.selectOption('#sasaran-desil', '2');
  await page.fill('#sasaran-wilayah', area);
  await page.fill('#sasaran-anggaran', '600000000');
  await page.fill('#sasaran-biaya', '20000000');
  check(await page.inputValue('#sasaran-belum') !== '', 'the chosen programme is the default "not yet reached" criterion');
  await page.click('#form-sasaran button[type="submit"]');
  await waitFor(page, 'the ranking', () => document.querySelector('#sasaran-ringkas').textContent.includes('kuota'));
  const summary = await page.textContent('#sasaran-ringkas');
  check(summary.includes('kuota 30 rumah tangga'), 'the budget buys 30 households: ' + summary);
  const ranked = await page.locator('#sasaran-tabel tr.ambil').count();
  check(ranked > 0, `units taken by the quota are marked (${ranked})`);

  // Download the household list.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#sasaran-rt-xlsx')]);
  check(/^daftar-sasaran-\d{4}-\d{2}\.xlsx$/.test(download.suggestedFilename()), `the household list is a workbook (${download.suggestedFilename()})`);
  const saved = join(artifacts, download.suggestedFilename());
  await download.saveAs(saved);
  const bytes = readFileSync(saved);
  check(bytes.length > 2000 && bytes[0] === 0x50 && bytes[1] === 0x4b, `the workbook is an XLSX file (${bytes.length} bytes)`);

  // Save the list and compare it with the period.
  await page.fill('#sasaran-nama', 'Usulan bedah rumah ' + period);
  await page.click('#sasaran-simpan-btn');
  await waitFor(page, 'the saved list', () => document.querySelector('#daftar-tersimpan').textContent.includes('Usulan bedah rumah'));
  await page.click('#daftar-tersimpan [data-banding]');
  await waitFor(page, 'the comparison', () => document.querySelector('#banding').textContent.includes('masih terdaftar'));
  check((await page.textContent('#banding')).includes('30 dari 30 masih terdaftar'), 'every household of the list is still listed in its own period');

  // Reopen it: the builder takes its criteria back and ranks again.
  await page.fill('#sasaran-anggaran', '');
  await page.selectOption('#sasaran-desil', '5');
  await page.evaluate(() => { document.querySelector('#sasaran-ringkas').textContent = ''; });
  await page.click('#daftar-tersimpan [data-buka]');
  await waitFor(page, 'the reopened ranking', () => document.querySelector('#sasaran-ringkas').textContent.includes('kuota'));
  check(await page.inputValue('#sasaran-desil') === '2' && await page.inputValue('#sasaran-anggaran') === '600000000',
    'the saved criteria are back in the builder');
  check((await page.textContent('#sasaran-ringkas')).includes('kuota 30 rumah tangga'), 'the reopened list ranks as saved');
  await page.locator('#program').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(artifacts, 'program-sasaran.png'), fullPage: true });
});
