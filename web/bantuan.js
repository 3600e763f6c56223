// The help page's lists that come from the server: the indicators the map offers and the
// classification methods (from /api/fields), and this server's OGC API address.
'use strict';

(async () => {
  const ogc = location.origin + '/ogc';
  document.getElementById('url-ogc-bantuan').textContent = ogc;
  let fields;
  try {
    const r = await fetch('/api/fields');
    if (!r.ok) throw new Error('HTTP ' + r.status);
    fields = await r.json();
  } catch (_) {
    const p = document.createElement('p');
    p.className = 'peringatan';
    p.textContent = 'Daftar indikator tidak dapat dimuat dari server. Muat ulang halaman ini.';
    document.getElementById('daftar-indikator').replaceWith(p);
    return;
  }
  const body = document.querySelector('#daftar-indikator tbody');
  const shown = fields.fields.filter((f) => f.map !== null).sort((a, b) => a.map - b.map);
  for (const f of shown) {
    const tr = document.createElement('tr');
    tr.dataset.field = f.name;
    for (const text of [f.label, f.kind === 'rate' ? 'persentase' : 'jumlah']) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  const methods = document.getElementById('daftar-metode');
  for (const m of fields.methods || []) {
    const dt = document.createElement('dt');
    dt.textContent = m.label;
    const dd = document.createElement('dd');
    dd.textContent = m.about;
    methods.append(dt, dd);
  }
})();
