// Lentera — programmes and targeting in the page: the programmes of the agencies, their
// coverage on the map and as a gap list, registering a programme and uploading its list
// (admins, analysts), the targeting builder with its ranking and household list, and saved
// target lists compared with a later period. Everything the user reads is in Bahasa
// Indonesia. It runs after app.js and uses what app.js shares on `window.lentera`.
(function () {
  'use strict';
  const L = window.lentera;
  if (!L || !L.map) return;
  const $ = (id) => document.getElementById(id);
  const angka = new Intl.NumberFormat('id-ID', { maximumFractionDigits: 0 });
  const persen = new Intl.NumberFormat('id-ID', { style: 'percent', maximumFractionDigits: 1 });
  const esc = (t) => String(t == null ? '' : t).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const num = (v) => (v === null || v === undefined ? 'tidak ada data' : angka.format(v));

  let session = null;
  let programs = [];
  let lastCriteria = '';
  // The session the lists were loaded for: the page announces the session again on every
  // change of purpose or layer, which needs no reload.
  let loadedFor = '';

  function csrf() { return { 'X-CSRF-Token': (session && session.csrf) || '' }; }
  async function call(method, url, body, raw) {
    const headers = Object.assign({}, csrf());
    if (!raw) headers['Content-Type'] = 'application/json';
    const r = await L.userFetch(url, { method, headers, body: raw ? body : body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await r.json(); } catch (_) { /* not JSON */ }
    if (!r.ok) throw new Error((data && data.error) || 'HTTP ' + r.status);
    return data;
  }
  function say(text, isError) { L.setStatus(text, isError); if (!isError) setTimeout(() => L.setStatus(''), 4000); }
  const manages = () => session && (session.role === 'admin' || session.role === 'analyst');
  const chosen = () => programs.find((p) => String(p.id) === $('program-pilih').value);

  document.addEventListener('lentera:sesi', (e) => {
    session = e.detail;
    $('program').hidden = !session;
    if (!session) { loadedFor = ''; return; }
    $('program-kelola').hidden = !manages();
    // Targeting counts single households per desa: viewers see aggregates with small counts
    // hidden, so the builder is not theirs.
    const targets = session.role !== 'viewer';
    for (const id of ['form-sasaran', 'sasaran-tabel']) $(id).hidden = !targets;
    $('sasaran-ringkas').textContent = targets ? '' : 'Penyusunan sasaran tersedia untuk admin, operator dan analis.';
    if (!$('program-tahun').value) $('program-tahun').value = String(new Date().getFullYear());
    if (!$('program-periode').value) $('program-periode').value = $('periode').value || '';
    if (!$('sasaran-wilayah').value && session.scope && session.scope.length === 1) $('sasaran-wilayah').value = session.scope[0];
    const key = session.username + '|' + session.csrf;
    if (key === loadedFor) return;
    loadedFor = key;
    loadPrograms();
    loadSaved();
  });

  // ---- programmes -----------------------------------------------------------------------
  function describe(p) {
    const parts = [p.agency, String(p.year), p.kind === 'location' ? 'bantuan wilayah' : 'bantuan rumah tangga'];
    if (p.desil) parts.push('desil ' + p.desil);
    if (p.budget) parts.push('anggaran Rp ' + angka.format(p.budget));
    if (!p.list) parts.push('belum ada daftar penerima');
    else if (p.kind === 'household') parts.push(`daftar ${p.list.period}: ${angka.format(p.matched || 0)} dari ${angka.format(p.rows || 0)} baris cocok dengan BNBA`);
    else parts.push(`daftar ${p.list.period}: ${angka.format(p.rows || 0)} lokasi`);
    return parts.join(' · ');
  }
  async function loadPrograms(select) {
    try {
      programs = (await call('GET', '/api/programs')).programs;
    } catch (e) { say('Program tidak dapat dimuat: ' + e.message, true); return; }
    const sel = $('program-pilih');
    const keep = select !== undefined ? String(select) : sel.value;
    sel.innerHTML = '<option value="">— pilih program —</option>';
    for (const p of programs) sel.add(new Option(`${p.name} (${p.agency}, ${p.year})`, String(p.id)));
    sel.value = programs.some((p) => String(p.id) === keep) ? keep : '';
    const belum = $('sasaran-belum');
    for (const o of [...belum.options]) if (o.dataset.program) o.remove();
    for (const p of programs.filter((x) => x.kind === 'household' && x.list)) {
      const o = new Option('program ' + p.name, String(p.id));
      o.dataset.program = '1';
      belum.add(o);
    }
    showProgram();
  }
  async function showProgram() {
    const p = chosen();
    $('program-info').textContent = p ? describe(p) : (programs.length ? '' : 'Belum ada program terdaftar.');
    $('program-peta').disabled = !(p && p.list);
    $('program-celah').innerHTML = '';
    $('program-celah-xlsx').hidden = true;
    if (p && p.list && p.kind === 'household' && [...$('sasaran-belum').options].some((o) => o.value === String(p.id))) {
      $('sasaran-belum').value = String(p.id);
    }
    if (!p || !p.list) return;
    const parent = $('sasaran-wilayah').value.trim();
    const q = new URLSearchParams({ level: 'desa' });
    if (parent) q.set('parent', parent);
    try {
      const cov = await call('GET', `/api/programs/${p.id}/coverage?` + q.toString());
      const rows = cov.units.slice(0, 10);
      const household = p.kind === 'household';
      const head = household
        ? '<tr><th>Desa/kelurahan</th><th>Sasaran</th><th>Belum menerima</th><th>Di luar sasaran</th></tr>'
        : '<tr><th>Desa/kelurahan</th><th>Lokasi</th><th>Nilai (Rp)</th></tr>';
      $('program-celah').innerHTML = head + rows.map((u) => household
        ? `<tr><td>${esc(u.nama)}</td><td>${num(u.eligible)}</td><td>${num(u.uncovered)}</td><td>${num(u.leakage)}</td></tr>`
        : `<tr><td>${esc(u.nama)}</td><td>${num(u.places)}</td><td>${num(u.amount)}</td></tr>`).join('');
      const link = $('program-celah-xlsx');
      q.set('format', 'xlsx');
      link.href = `/api/programs/${p.id}/coverage?` + q.toString();
      link.hidden = false;
    } catch (e) { say('Cakupan tidak dapat dimuat: ' + e.message, true); }
  }
  $('program-pilih').addEventListener('change', showProgram);
  $('program-peta').addEventListener('click', () => {
    const p = chosen();
    if (!p || !p.list) return;
    const measure = p.kind === 'household' ? 'uncovered' : 'places';
    const label = (p.kind === 'household' ? 'Sasaran belum menerima ' : 'Lokasi ') + p.name;
    L.showFigure(`program_${p.id}_${measure}`, label, 'count', p.list.period);
  });

  $('form-program').addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {
      name: $('program-nama').value, agency: $('program-opd').value,
      year: Number($('program-tahun').value), kind: $('program-jenis').value,
    };
    if ($('program-desil').value.trim()) body.desil = $('program-desil').value.trim();
    if ($('program-anggaran').value) body.budget = Number($('program-anggaran').value);
    if ($('program-biaya').value) body.unit_cost = Number($('program-biaya').value);
    try {
      const p = await call('POST', '/api/programs', body);
      say(`Program ${p.name} terdaftar.`);
      $('form-program').reset();
      $('program-tahun').value = String(body.year);
      await loadPrograms(p.id);
    } catch (err) { say('Program tidak dapat didaftarkan: ' + err.message, true); }
  });

  $('program-berkas').addEventListener('change', async () => {
    const file = $('program-berkas').files[0];
    const p = chosen();
    if (!file) return;
    if (!p) { say('Pilih program dulu, lalu unggah daftarnya.', true); return; }
    const period = $('program-periode').value.trim();
    const q = new URLSearchParams({ name: file.name });
    if (period) q.set('period', period);
    const box = $('program-laporan');
    box.hidden = false;
    box.textContent = 'Mengunggah dan mencocokkan…';
    try {
      const r = await call('POST', `/api/programs/${p.id}/list?` + q.toString(), file, true);
      const lines = [
        `<p><b>${angka.format(r.rows_read)}</b> baris dibaca: ${angka.format(r.rows_kept)} dipakai, ${angka.format(r.repeats)} berulang, ${angka.format(r.rows_refused)} ditolak.</p>`,
      ];
      if (p.kind === 'household') {
        lines.push(`<p><b>${angka.format(r.matched)}</b> cocok dengan rumah tangga BNBA periode ${esc(r.program.list.period)}; <b>${angka.format(r.unmatched)}</b> tidak cocok${r.unmatched_placed ? ` (${angka.format(r.unmatched_placed)} di antaranya dihitung sebagai penerima di luar sasaran pada wilayah kodenya)` : ''}.</p>`);
      }
      const rows = r.refused.map((x) => [x.row, 'ditolak', x.alasan, '', '', '', ''])
        .concat(r.unmatched_rows.map((x) => [x.row, 'tidak cocok', 'tidak ditemukan di BNBA', x.nik, x.kk, x.nama, x.kode]));
      if (rows.length) {
        const csv = ['baris;status;alasan;nik;no_kk;nama;kode_wilayah']
          .concat(rows.map((c) => c.map((v) => '"' + String(v).replace(/"/g, '""') + '"').join(';'))).join('\r\n');
        const url = URL.createObjectURL(new Blob(['\ufeff' + csv], { type: 'text/csv' }));
        lines.push(`<p><a class="btn" download="laporan-daftar-${p.id}.csv" href="${url}">Laporan baris ditolak / tidak cocok (CSV)</a></p>`);
      }
      box.innerHTML = lines.join('');
      await loadPrograms(p.id);
    } catch (err) {
      box.textContent = 'Daftar tidak dapat diunggah: ' + err.message;
    }
    $('program-berkas').value = '';
  });

  // ---- targeting ------------------------------------------------------------------------
  function criteria() {
    const q = new URLSearchParams({
      desil_max: $('sasaran-desil').value, level: $('sasaran-tingkat').value,
      min_households: $('sasaran-min').value || '1', rank_by: $('sasaran-urut').value,
    });
    if ($('periode').value) q.set('period', $('periode').value);
    if ($('sasaran-belum').value) q.set('not_covered', $('sasaran-belum').value);
    if ($('sasaran-wilayah').value.trim()) q.set('area', $('sasaran-wilayah').value.trim());
    if ($('sasaran-anggaran').value) {
      q.set('budget', $('sasaran-anggaran').value);
      q.set('unit_cost', $('sasaran-biaya').value || '1');
    }
    return q;
  }
  function withPurpose(q) {
    const purpose = ($('tujuan') && $('tujuan').value.trim()) || '';
    if (purpose) q.set('purpose', purpose);
    return q;
  }
  $('form-sasaran').addEventListener('submit', async (e) => {
    e.preventDefault();
    const q = criteria();
    lastCriteria = q.toString();
    $('sasaran-ringkas').textContent = 'Menyusun…';
    try {
      const t = await call('GET', '/api/targeting?' + lastCriteria);
      const r = t.ranking;
      const share = $('sasaran-urut').value === 'share';
      $('sasaran-ringkas').textContent = r.units.length
        ? `${angka.format(r.targeted)} rumah tangga sasaran di ${angka.format(r.units.length)} wilayah` +
          (r.quota !== null && r.quota !== undefined ? `; kuota ${angka.format(r.quota)} rumah tangga mencakup ${angka.format(r.units_taken)} wilayah pertama (${angka.format(r.taken)} rumah tangga).` : '.')
        : 'Tidak ada rumah tangga yang memenuhi kriteria ini.';
      $('sasaran-tabel').innerHTML = '<tr><th>#</th><th>Wilayah</th><th>Sasaran</th><th>' + (share ? 'Porsi' : 'RT') + '</th><th>Diambil</th></tr>' +
        r.units.slice(0, 20).map((u) => `<tr class="${u.take ? 'ambil' : ''}"><td>${u.rank}</td><td>${esc(u.nama)}</td><td>${angka.format(u.targeted)}</td><td>${share ? persen.format(u.share) : angka.format(u.households)}</td><td>${angka.format(u.take)}</td></tr>`).join('');
      $('sasaran-unduh').hidden = !r.units.length;
      const xq = new URLSearchParams(lastCriteria);
      xq.set('format', 'xlsx');
      $('sasaran-peringkat-xlsx').href = '/api/targeting?' + xq.toString();
      const mayList = Boolean(session && session.households);
      const needsPurpose = session && session.needs_purpose && !withPurpose(new URLSearchParams()).get('purpose');
      const list = $('sasaran-rt-xlsx');
      list.hidden = !mayList || !r.units.length;
      list.href = '/api/targeting/households?' + withPurpose(xq).toString();
      list.classList.toggle('nonaktif', Boolean(needsPurpose));
      list.title = needsPurpose ? 'Isi tujuan penggunaan data (bagian Akun) untuk mengunduh daftar rumah tangga.' : 'Setiap unduhan dicatat dalam jejak audit.';
      $('sasaran-simpan').hidden = !mayList || !r.units.length;
    } catch (err) {
      $('sasaran-ringkas').textContent = 'Sasaran tidak dapat disusun: ' + err.message;
    }
  });
  $('sasaran-rt-xlsx').addEventListener('click', (e) => {
    if ($('sasaran-rt-xlsx').classList.contains('nonaktif')) {
      e.preventDefault();
      say('Isi tujuan penggunaan data (bagian Akun) untuk mengunduh daftar rumah tangga.', true);
    }
  });
  $('sasaran-simpan-btn').addEventListener('click', async () => {
    const name = $('sasaran-nama').value.trim();
    if (!name) { say('Beri nama daftar sasaran.', true); return; }
    try {
      const q = withPurpose(new URLSearchParams());
      const saved = await call('POST', '/api/target-lists?' + q.toString(), { name, criteria: lastCriteria });
      say(`Daftar "${saved.name}" disimpan (${angka.format(saved.households)} rumah tangga).`);
      loadSaved();
    } catch (err) { say('Daftar tidak dapat disimpan: ' + err.message, true); }
  });

  // ---- saved lists ----------------------------------------------------------------------
  let saved = [];
  async function loadSaved() {
    try { saved = (await call('GET', '/api/target-lists')).lists; } catch (_) { return; }
    $('daftar-tersimpan').innerHTML = saved.length
      ? saved.map((l) => `<li>${esc(l.name)} · ${esc(l.period)} · ${angka.format(l.households)} RT` +
        (session && session.role !== 'viewer'
          ? ` <button type="button" class="btn" data-buka="${l.id}">Buka</button> <button type="button" class="btn" data-banding="${l.id}">Bandingkan dengan periode terpilih</button>`
          : '') + '</li>').join('')
      : '<li class="kecil">Belum ada daftar tersimpan.</li>';
  }
  // A saved list's criteria back in the builder, ranked again on its own period.
  function reopen(list) {
    const q = new URLSearchParams(list.criteria);
    const set = (id, key, fallback) => { $(id).value = q.get(key) || fallback; };
    set('sasaran-desil', 'desil_max', '1');
    set('sasaran-tingkat', 'level', 'desa');
    set('sasaran-min', 'min_households', '1');
    set('sasaran-urut', 'rank_by', 'count');
    set('sasaran-wilayah', 'area', '');
    set('sasaran-anggaran', 'budget', '');
    set('sasaran-biaya', 'unit_cost', '');
    const belum = q.get('not_covered') || '';
    if (belum && ![...$('sasaran-belum').options].some((o) => o.value === belum)) $('sasaran-belum').add(new Option('program ' + belum, belum));
    $('sasaran-belum').value = belum;
    if (q.get('period') && [...$('periode').options].some((o) => o.value === q.get('period'))) $('periode').value = q.get('period');
    $('sasaran-nama').value = list.name;
    $('form-sasaran').requestSubmit();
  }
  $('daftar-tersimpan').addEventListener('click', async (e) => {
    const open = e.target.dataset && e.target.dataset.buka;
    if (open) {
      const list = saved.find((l) => String(l.id) === open);
      if (list) reopen(list);
      return;
    }
    const id = e.target.dataset && e.target.dataset.banding;
    if (!id) return;
    const period = $('periode').value;
    try {
      const c = await call('GET', `/api/target-lists/${id}/compare` + (period ? '?period=' + encodeURIComponent(period) : ''));
      const o = c.outcome;
      $('banding').textContent = `${c.list.name} (${c.list.period}) pada ${c.period}: ${angka.format(o.listed)} dari ${angka.format(o.households)} masih terdaftar, ` +
        `${angka.format(o.left_desil_1)} keluar dari desil 1, ${angka.format(o.desil_up)} naik desil, ${angka.format(o.moved)} pindah wilayah, ` +
        `${angka.format(o.reached)} kini menerima program, ${angka.format(o.not_listed)} tidak lagi terdaftar.`;
    } catch (err) { say('Perbandingan gagal: ' + err.message, true); }
  });
})();
