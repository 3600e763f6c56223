// Lentera — the verval round in the page: rounds (admins), uploads with progress, the batch
// list with its steps (submit, accept, return), the review of households the geocoder could
// not place, and the round's status as a table and a map. Everything the user reads is in
// Bahasa Indonesia. It runs after app.js and uses what app.js shares on `window.lentera`.
(function () {
  'use strict';
  const L = window.lentera;
  if (!L || !L.map) return;
  const map = L.map;
  const $ = (id) => document.getElementById(id);
  const angka = new Intl.NumberFormat('id-ID', { maximumFractionDigits: 0 });
  const persen = new Intl.NumberFormat('id-ID', { style: 'percent', maximumFractionDigits: 0 });

  const STATUS = {
    belum: 'Belum', draf: 'Draf', diserahkan: 'Diserahkan', dikembalikan: 'Dikembalikan', diterima: 'Diterima',
  };
  const STATUS_COLORS = {
    belum: '#bdbdbd', draf: '#f6c453', diserahkan: '#4a90d9', dikembalikan: '#e05252', diterima: '#2f855a',
  };
  const QUALITY = {
    gps: 'GPS', code: 'kode wilayah', name_exact: 'nama (tepat)', name_fuzzy: 'nama (mirip)',
    kecamatan_only: 'hanya kecamatan', kabupaten_only: 'hanya kabupaten', ambiguous: 'ambigu', unmatched: 'tidak cocok',
  };
  const FLAGS = {
    gps_swapped: 'lintang/bujur tertukar', gps_zero: 'GPS (0, 0)', gps_outside: 'GPS di luar semua desa',
    gps_mismatch: 'GPS di desa lain', code_stale: 'kode tidak dikenal', code_partial: 'kode tidak lengkap',
    code_invalid: 'kode tidak sah', code_name_conflict: 'kode dan nama berbeda', not_found: 'tidak ditemukan',
  };
  const flagText = (s) => (s || '').split(';').filter(Boolean).map((f) => FLAGS[f] || f).join(', ');
  const esc = (t) => String(t == null ? '' : t).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const tanggal = (iso) => {
    if (!iso) return '';
    const d = new Date(iso.length === 10 ? iso + 'T00:00:00' : iso);
    return isNaN(d) ? iso : d.toLocaleDateString('id-ID', { day: 'numeric', month: 'short', year: 'numeric' });
  };
  const badge = (s) => `<span class="lencana ${esc(s)}">${esc(STATUS[s] || s)}</span>`;

  let session = null;
  let rounds = [];
  const view = { review: null, reviewItems: [], marker: null, statusShown: false };

  function csrf() { return { 'X-CSRF-Token': (session && session.csrf) || '' }; }
  async function call(method, url, body) {
    const r = await L.userFetch(url, {
      method,
      headers: Object.assign({ 'Content-Type': 'application/json' }, csrf()),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await r.json(); } catch (_) { /* not JSON */ }
    if (!r.ok) throw new Error((data && data.error) || 'HTTP ' + r.status);
    return data;
  }
  function say(text, isError) { L.setStatus(text, isError); if (!isError) setTimeout(() => L.setStatus(''), 4000); }

  // ---- session and rounds ---------------------------------------------------------------
  let loadedFor = '';
  const takesPart = (s) => s && (s.role === 'admin' || s.role === 'operator');
  document.addEventListener('lentera:sesi', (e) => {
    session = e.detail;
    $('verval').hidden = !session;
    $('form-putaran').hidden = !(session && session.role === 'admin');
    $('bagian-unggah').hidden = !takesPart(session);
    if (!session) { loadedFor = ''; closeReview(); closeStatus(); return; }
    // The page announces the session again on every change of purpose or layer: the rounds
    // are loaded once per session.
    const key = session.username + '|' + session.csrf;
    if (key === loadedFor) return;
    loadedFor = key;
    loadRounds();
    if (takesPart(session)) loadBatches();
  });

  async function loadRounds() {
    try { rounds = await call('GET', '/api/rounds'); } catch (e) { rounds = []; }
    const open = rounds.find((r) => !r.closed_at);
    const info = $('putaran-info');
    if (!rounds.length) {
      info.textContent = 'Belum ada putaran verval. Unggahan admin langsung dihitung.';
    } else {
      const r = open || rounds[0];
      info.innerHTML = `Putaran <strong>${esc(r.period)}</strong> · tenggat ${esc(tanggal(r.deadline))} · ` +
        `${r.expected.length} kabupaten/kota${r.closed_at ? ' · <strong>ditutup</strong>' : ''}`;
    }
    if (open && !$('unggah-periode').value) $('unggah-periode').value = open.period;
    if (open && !$('putaran-periode').value) { $('putaran-periode').value = open.period; $('putaran-tenggat').value = open.deadline; }
  }

  $('form-putaran').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await call('POST', '/api/rounds', { period: $('putaran-periode').value.trim(), deadline: $('putaran-tenggat').value });
      say(`Putaran ${r.period} dibuka sampai ${tanggal(r.deadline)} untuk ${r.expected.length} kabupaten/kota.`);
      $('unggah-periode').value = r.period;
      await loadRounds();
    } catch (err) { L.showError('Putaran tidak dapat dibuka', err); }
  });
  $('tutup-putaran').addEventListener('click', async () => {
    const period = $('putaran-periode').value.trim();
    if (!period || !confirm(`Tutup putaran ${period}? Operator tidak dapat mengunggah lagi.`)) return;
    try { await call('POST', `/api/rounds/${encodeURIComponent(period)}/close`); say(`Putaran ${period} ditutup.`); await loadRounds(); } catch (err) { L.showError('Putaran tidak dapat ditutup', err); }
  });

  // ---- upload -----------------------------------------------------------------------------
  const zone = $('zona-unggah');
  zone.addEventListener('click', () => $('berkas-unggah').click());
  zone.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('berkas-unggah').click(); } });
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('aktif'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('aktif'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('aktif');
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) upload(f);
  });
  $('berkas-unggah').addEventListener('change', (e) => { const f = e.target.files[0]; if (f) upload(f); e.target.value = ''; });

  function randomId() {
    const a = new Uint8Array(12);
    crypto.getRandomValues(a);
    return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function upload(file) {
    const period = $('unggah-periode').value.trim();
    if (!/^\d{4}-\d{2}$/.test(period)) { L.setStatus('Isi periode data dulu (TTTT-BB, mis. 2026-03).', true); $('unggah-periode').focus(); return; }
    const id = randomId();
    const sent = $('kemajuan-kirim');
    const imported = $('kemajuan-impor');
    const text = $('kemajuan-teks');
    $('kemajuan').hidden = false;
    $('ringkasan-unggah').hidden = true;
    sent.value = 0; imported.removeAttribute('value');
    text.textContent = `Mengirim ${file.name} (${angka.format(file.size / 1048576)} MiB)…`;
    let poll = null;
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/batches?period=${encodeURIComponent(period)}&name=${encodeURIComponent(file.name)}`);
    xhr.setRequestHeader('X-CSRF-Token', (session && session.csrf) || '');
    xhr.setRequestHeader('X-Upload-Id', id);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) sent.value = e.loaded / e.total; };
    xhr.upload.onload = () => {
      sent.value = 1;
      text.textContent = 'Berkas terkirim; mengimpor dan menempatkan rumah tangga…';
      poll = setInterval(async () => {
        try {
          const p = await (await L.userFetch('/api/uploads/' + id, { cache: 'no-store' })).json();
          if (p.phase === 'mengimpor') {
            if (p.rows_estimate > 0) imported.value = Math.min(0.99, p.rows / p.rows_estimate);
            text.textContent = `Mengimpor: ${angka.format(p.rows)} baris dibaca` +
              (p.rows_estimate > 0 ? ` dari sekitar ${angka.format(p.rows_estimate)}` : '') + '…';
          }
        } catch (_) { /* the upload has ended */ }
      }, 500);
    };
    xhr.onloadend = () => {
      if (poll) clearInterval(poll);
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status === 200 && data) {
        imported.value = 1;
        text.textContent = 'Selesai.';
        showSummary(data);
        loadBatches();
      } else {
        imported.value = 0;
        const why = xhr.status === 413 ? 'Berkas melebihi batas unggahan server. '
          : xhr.status === 0 ? 'Koneksi terputus; tidak ada yang disimpan. ' : '';
        text.textContent = 'Unggahan gagal: ' + why + ((data && data.error) || ('HTTP ' + xhr.status));
      }
    };
    xhr.send(file);
  }

  function showSummary(d) {
    const b = d.batch;
    const rows = [
      ['Baris dibaca', d.rows_read], ['Baris diterima', d.rows_accepted], ['Baris ditolak', d.rows_rejected],
      ['— di luar wilayah Anda', d.outside_area], ['Keluarga', d.households],
      ['Duplikat dalam berkas', d.duplicates_in_batch], ['Duplikat batch lain', d.duplicates_other],
    ];
    for (const [q, n] of Object.entries(d.geocoded || {})) rows.push(['Lokasi: ' + (QUALITY[q] || q), n]);
    rows.push(['Perlu ditinjau', d.to_review]);
    const where = b.status === 'draf'
      ? 'tersimpan sebagai <strong>draf</strong>: belum dihitung sampai diserahkan dan diterima provinsi.'
      : 'diterima dan dihitung dalam indikator.';
    const el = $('ringkasan-unggah');
    el.innerHTML = `<p><strong>Batch ${b.id}</strong> (${esc(b.file_name)}, ${esc(b.source)}, periode ${esc(b.period)}) ${where}</p>` +
      '<table>' + rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${angka.format(v || 0)}</td></tr>`).join('') + '</table>' +
      '<div class="tombol">' +
      (d.rows_rejected ? `<a class="btn" href="${d.rejects.xlsx}" download>Laporan penolakan (Excel)</a><a class="btn" href="${d.rejects.csv}" download>CSV</a>` : '') +
      (d.to_review ? `<button type="button" class="btn" data-tinjau="${b.id}">Tinjau sekarang</button>` : '') + '</div>';
    el.hidden = false;
    const btn = el.querySelector('[data-tinjau]');
    if (btn) btn.addEventListener('click', () => openReview(b.id));
  }

  // ---- batches ----------------------------------------------------------------------------
  async function loadBatches() {
    const list = $('daftar-batch');
    let batches;
    try { batches = await call('GET', '/api/batches'); } catch (e) { list.textContent = e.message; return; }
    if (!batches.length) { list.textContent = 'Belum ada batch.'; return; }
    const admin = session.role === 'admin';
    list.innerHTML = batches.slice(0, 50).map((b) => {
      const actions = [];
      if (['draf', 'dikembalikan'].includes(b.status) || admin) actions.push(['tinjau', 'Tinjau']);
      if (['draf', 'dikembalikan'].includes(b.status)) actions.push(['submit', 'Serahkan']);
      if (admin && b.status === 'diserahkan') actions.push(['accept', 'Terima'], ['return', 'Kembalikan']);
      if (['draf', 'dikembalikan'].includes(b.status)) actions.push(['hapus', 'Hapus']);
      const who = b.owner ? ` · oleh ${esc(b.owner)}` : '';
      const note = b.status === 'dikembalikan' && b.note ? `<br><span class="catatan">Catatan provinsi: ${esc(b.note)}</span>` : '';
      return `<div class="batch" data-batch="${b.id}"><strong>#${b.id}</strong> ${badge(b.status)} ${esc(b.file_name)}<br>` +
        `periode ${esc(b.period)}${b.area ? ' · wilayah ' + esc(b.area) : ''}${who}<br>` +
        `${angka.format(b.counts.households)} keluarga · ${angka.format(b.counts.rows_rejected)} baris ditolak` +
        (b.counts.rows_rejected ? ` · <a href="/api/batches/${b.id}/rejects.xlsx" download>laporan penolakan</a>` : '') + note +
        '<div class="tombol">' + actions.map(([a, t]) => `<button type="button" class="btn" data-aksi="${a}">${t}</button>`).join('') + '</div></div>';
    }).join('');
    for (const el of list.querySelectorAll('[data-aksi]')) {
      el.addEventListener('click', () => act(Number(el.closest('[data-batch]').dataset.batch), el.dataset.aksi));
    }
  }

  async function act(id, action) {
    try {
      if (action === 'tinjau') { openReview(id); return; }
      if (action === 'hapus') {
        if (!confirm(`Hapus batch ${id}? Rumah tangganya dihapus dari Lentera.`)) return;
        await call('DELETE', `/api/batches/${id}`);
        say(`Batch ${id} dihapus.`);
      } else if (action === 'return') {
        const note = prompt('Alasan batch dikembalikan (dibaca operator):');
        if (!note) return;
        await call('POST', `/api/batches/${id}/return`, { note });
        say(`Batch ${id} dikembalikan ke operator.`);
      } else {
        const b = await call('POST', `/api/batches/${id}/${action}`);
        say(action === 'submit' ? `Batch ${id} diserahkan ke provinsi.` : `Batch ${b.id} diterima: angkanya masuk ke peta dalam beberapa detik.`);
        if (action === 'accept') setTimeout(() => L.refreshFigures(), 3000);
      }
      await loadBatches();
      if (view.statusShown) showStatus();
    } catch (e) { L.showError('Tindakan gagal', e); }
  }

  // ---- review -----------------------------------------------------------------------------
  function closeReview() {
    $('tinjau').hidden = true;
    view.review = null;
    stopPlacing();
    if (view.marker) { view.marker.remove(); view.marker = null; }
    if (map.getLayer('desa-pilih')) map.setFilter('desa-pilih', ['==', ['get', 'kode'], '']);
  }
  $('tutup-tinjau').addEventListener('click', closeReview);

  async function openReview(id) {
    closeStatus();
    $('panel').hidden = true;
    view.review = id;
    $('tinjau').hidden = false;
    $('judul-tinjau').textContent = `Tinjau batch ${id}`;
    $('daftar-tinjau').innerHTML = '';
    $('ringkas-tinjau').textContent = 'Memuat…';
    try {
      const [r, p] = await Promise.all([call('GET', `/api/batches/${id}/review`), call('GET', `/api/batches/${id}/preview`)]);
      view.reviewItems = r.households;
      renderReview(r, p);
    } catch (e) { $('ringkas-tinjau').textContent = 'Gagal memuat: ' + e.message; }
  }

  function renderReview(r, p) {
    const desil = p ? ` Pratinjau batch: ${angka.format(p.households)} keluarga, ${angka.format(p.desil_1)} desil 1, di ${angka.format(p.units.length)} wilayah.` : '';
    $('ringkas-tinjau').textContent = `Perlu ditinjau: ${angka.format(r.to_review)}` +
      (r.not_found ? ` · tidak ditemukan: ${angka.format(r.not_found)}` : '') +
      (r.listed < r.to_review ? ` (ditampilkan ${angka.format(r.listed)})` : '') + '.' + desil;
    const list = $('daftar-tinjau');
    if (!r.households.length) { list.innerHTML = '<li>Semua rumah tangga batch ini sudah tertempatkan.</li>'; return; }
    list.innerHTML = r.households.map((h, i) => {
      const where = [h.desa, h.kecamatan, h.kabupaten].filter(Boolean).join(', ');
      const cands = h.kandidat.map((c) => `<button type="button" class="btn" data-kode="${esc(c.kode)}">Pilih ${esc(c.nama)}${c.kecamatan ? ' (' + esc(c.kecamatan) + ')' : ''} · ${esc(c.kode)}</button>`).join('');
      return `<li data-i="${i}"><strong>${esc(h.nama_kepala_keluarga || '(tanpa nama)')}</strong> · NIK ${esc(h.nik || '—')} · baris ${h.baris}<br>` +
        `${esc(h.alamat || '')} ${esc(where)}${h.kode_wilayah ? ' · kode ' + esc(h.kode_wilayah) : ''}<br>` +
        `<span class="catatan">${esc(QUALITY[h.kualitas] || h.kualitas)}${h.catatan ? ' · ' + esc(flagText(h.catatan)) : ''}${h.gps ? ' · ada titik GPS' : ''}</span>` +
        `<div class="kandidat">${cands}</div>` +
        '<div class="tombol"><button type="button" class="btn" data-tempat>Tempatkan di peta</button>' +
        '<button type="button" class="btn" data-tidak>Tidak ditemukan</button></div></li>';
    }).join('');
    for (const li of list.querySelectorAll('li[data-i]')) {
      const h = r.households[Number(li.dataset.i)];
      li.addEventListener('mouseenter', () => focusHousehold(h, li));
      li.addEventListener('focusin', () => focusHousehold(h, li));
      for (const b of li.querySelectorAll('[data-kode]')) b.addEventListener('click', () => correct({ id: h.id, kode: b.dataset.kode }));
      li.querySelector('[data-tempat]').addEventListener('click', () => startPlacing(h, li));
      li.querySelector('[data-tidak]').addEventListener('click', () => correct({ id: h.id, tidak_ditemukan: true }));
    }
  }

  function focusHousehold(h, li) {
    for (const x of document.querySelectorAll('.daftar-tinjau li.aktif')) x.classList.remove('aktif');
    li.classList.add('aktif');
    const codes = h.kandidat.map((c) => c.kode);
    if (map.getLayer('desa-pilih')) map.setFilter('desa-pilih', ['in', ['get', 'kode'], ['literal', codes]]);
    if (view.marker) { view.marker.remove(); view.marker = null; }
    // A point at (0, 0) or outside every desa is shown, but the map does not fly there.
    const gps = h.gps && !/gps_zero/.test(h.catatan || '') ? h.gps : null;
    if (gps) view.marker = new maplibregl.Marker({ color: '#c53030' }).setLngLat(gps).addTo(map);
    const boxes = h.kandidat.map((c) => c.bbox).filter(Boolean);
    if (gps && !/gps_outside/.test(h.catatan || '')) boxes.push([gps[0], gps[1], gps[0], gps[1]]);
    if (boxes.length) {
      const b = boxes.reduce((a, x) => [Math.min(a[0], x[0]), Math.min(a[1], x[1]), Math.max(a[2], x[2]), Math.max(a[3], x[3])]);
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 60, maxZoom: 13, duration: 300 });
    }
  }

  function onPlace(e) {
    const h = view.placing;
    stopPlacing();
    if (h) correct({ id: h.id, titik: [e.lngLat.lng, e.lngLat.lat] });
  }
  function startPlacing(h, li) {
    focusHousehold(h, li);
    view.placing = h;
    L.placing = true;
    $('mode-tempat').hidden = false;
    map.getCanvas().style.cursor = 'crosshair';
    map.once('click', onPlace);
  }
  function stopPlacing() {
    view.placing = null;
    L.placing = false;
    $('mode-tempat').hidden = true;
    map.getCanvas().style.cursor = '';
    map.off('click', onPlace);
  }
  $('batal-tempat').addEventListener('click', stopPlacing);

  async function correct(c) {
    const id = view.review;
    try {
      const out = await call('POST', `/api/batches/${id}/review`, { corrections: [c] });
      if (out.problems && out.problems.length) {
        L.setStatus('Koreksi ditolak: ' + out.problems.map((p) => p.alasan).join('; '), true);
      } else {
        say(c.tidak_ditemukan ? 'Ditandai tidak ditemukan.' : out.resolved ? 'Rumah tangga tertempatkan.' : 'Disimpan, tetapi masih perlu ditinjau.');
      }
      const [r, p] = await Promise.all([call('GET', `/api/batches/${id}/review`), call('GET', `/api/batches/${id}/preview`)]);
      renderReview(r, p);
      loadBatches();
    } catch (e) { L.showError('Koreksi gagal', e); }
  }

  // ---- round status -------------------------------------------------------------------------
  function closeStatus() {
    $('status-verval').hidden = true;
    view.statusShown = false;
    if (map.getLayer('verval-status')) map.removeLayer('verval-status');
  }
  $('tutup-status-verval').addEventListener('click', closeStatus);
  $('buka-status-verval').addEventListener('click', () => showStatus());

  async function showStatus() {
    const r = rounds.find((x) => !x.closed_at) || rounds[0];
    if (!r) { L.setStatus('Belum ada putaran verval.', true); return; }
    let s;
    try { s = await call('GET', `/api/rounds/${encodeURIComponent(r.period)}`); } catch (e) { L.showError('Status verval', e); return; }
    closeReview();
    $('panel').hidden = true;
    view.statusShown = true;
    $('status-verval').hidden = false;
    $('judul-status-verval').textContent = `Status verval ${s.period}`;
    const days = s.days_left == null ? '' : s.days_left >= 0 ? `${s.days_left} hari lagi` : `lewat ${-s.days_left} hari`;
    $('ringkas-status-verval').textContent = `Tenggat ${tanggal(s.deadline)} (${days})${s.open ? '' : ' · putaran ditutup'} · ` +
      `${s.accepted} dari ${s.units.length} kabupaten/kota diterima` + (s.previous ? ` · dibanding putaran ${s.previous}` : '');
    $('legenda-status').innerHTML = Object.entries(STATUS).map(([k, t]) =>
      `<span><span class="lencana ${k}">&nbsp;</span> ${t} (${s.units.filter((u) => u.status === k).length})</span>`).join('');
    const pct = (u, k) => (u.placed && u.placed[k] != null ? persen.format(u.placed[k]) : '—');
    const change = (n) => (n == null ? 'tidak ada data' : (n > 0 ? '+' : '') + angka.format(n));
    $('tabel-status-verval').innerHTML = '<thead><tr><th>Kabupaten/Kota</th><th>Status</th><th>Keluarga</th><th>Ditolak</th>' +
      '<th>GPS/kode/nama</th><th>Tinjau</th><th>Diserahkan</th><th>Diterima</th><th>Perubahan</th></tr></thead><tbody>' +
      s.units.map((u) => `<tr data-kode="${esc(u.kode)}"><td>${esc(u.nama)}</td><td>${badge(u.status)}${u.note ? '<br><span class="catatan">' + esc(u.note) + '</span>' : ''}</td>` +
        `<td class="angka-sel">${u.status === 'belum' ? '—' : angka.format(u.households)}</td><td class="angka-sel">${angka.format(u.rows_rejected)}</td>` +
        `<td>${pct(u, 'gps')} / ${pct(u, 'kode')} / ${pct(u, 'nama')}</td><td class="angka-sel">${angka.format(u.to_review)}</td>` +
        `<td>${esc(u.submitted_by || '')}<br>${esc(tanggal(u.submitted_at))}</td><td>${esc(u.accepted_by || '')}<br>${esc(tanggal(u.accepted_at))}</td>` +
        `<td>${change(u.change_households)}</td></tr>`).join('') + '</tbody>';
    $('unduh-status-verval').href = `/api/rounds/${encodeURIComponent(s.period)}/status.xlsx`;
    // The map: kabupaten/kota coloured by status.
    const match = ['match', ['get', 'kode']];
    for (const u of s.units) match.push(u.kode, STATUS_COLORS[u.status]);
    match.push('rgba(0,0,0,0)');
    if (map.getLayer('verval-status')) map.removeLayer('verval-status');
    if (map.getSource('kabupaten')) {
      map.addLayer({
        id: 'verval-status', type: 'fill', source: 'kabupaten', 'source-layer': 'kabupaten',
        paint: { 'fill-color': match, 'fill-opacity': 1, 'fill-outline-color': '#333' },
      }, map.getLayer('kabupaten-batas') ? 'kabupaten-batas' : undefined);
      L.verval = { statusColors: STATUS_COLORS, units: s.units };
    }
    // The whole round in view.
    try {
      const all = await call('GET', '/api/regions?level=kabupaten');
      const wanted = new Set(s.units.map((u) => u.kode));
      const boxes = all.filter((r) => wanted.has(r.kode) && r.bbox).map((r) => r.bbox);
      if (boxes.length) {
        const b = boxes.reduce((a, x) => [Math.min(a[0], x[0]), Math.min(a[1], x[1]), Math.max(a[2], x[2]), Math.max(a[3], x[3])]);
        const panel = $('status-verval').getBoundingClientRect().width;
        map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: { top: 30, bottom: 30, left: 30, right: panel + 30 }, duration: 0 });
      }
    } catch (_) { /* the map stays where it is */ }
  }
})();
