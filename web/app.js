// Lentera's web map: a choropleth of the poverty indicators over the vector tiles, with the
// legend, unit panel, search, periods, targeting list and (for a token) household points.
// Every text the user sees is in Bahasa Indonesia.
'use strict';

(() => {
  const LEVELS = ['kabupaten', 'kecamatan', 'desa'];
  const LEVEL_NAMES = { provinsi: 'Provinsi', kabupaten: 'Kabupaten/Kota', kecamatan: 'Kecamatan', desa: 'Desa/Kelurahan' };
  const JENIS_NAMES = { provinsi: 'Provinsi', kabupaten: 'Kabupaten', kota: 'Kota', kecamatan: 'Kecamatan', desa: 'Desa', kelurahan: 'Kelurahan' };
  const CHILD = { provinsi: 'kabupaten', kabupaten: 'kecamatan', kecamatan: 'desa' };
  // The indicators, their labels and kinds come from /api/fields: the ones the map offers
  // ([field, label, kind], in order) and the figures of the unit panel ([field, short label,
  // kind]).
  let INDICATORS = [];
  let PANEL_FIGURES = [];
  const FIELDS = new Map();
  const NO_DATA_COLOR = '#d9d9d9';
  const FEW_COLOR = '#efe6cf';
  const SOURCE_NAMES = { p3ke: 'P3KE', dtks: 'DTKS', dtsen: 'DTSEN', verval: 'verval', custom: 'lainnya' };
  const FIELD_NAMES = {
    members: 'jumlah anggota', desil: 'desil', desil_4: 'desil 1–4', desil_10: 'desil 1–10',
    extreme_poor: 'miskin ekstrem', programs: 'bantuan', pkh: 'PKH', bpnt: 'BPNT', sembako: 'Sembako',
    blt: 'BLT', pbi: 'PBI JKN', bpum: 'BPUM', bst: 'BST', prakerja: 'Prakerja', kur: 'KUR',
  };
  const angka = new Intl.NumberFormat('id-ID', { maximumFractionDigits: 0 });
  const desimal = new Intl.NumberFormat('id-ID', { maximumFractionDigits: 1 });

  const $ = (id) => document.getElementById(id);
  const started = performance.now();

  // ---- formatting ---------------------------------------------------------------------
  function kindOf(field) {
    if (field.endsWith('_change_rel')) return 'rate';
    const found = FIELDS.get(field.replace(/_change(_rel)?$/, ''));
    return found ? found.kind : 'count';
  }
  function format(value, kind) {
    if (value === null || value === undefined || Number.isNaN(value)) return 'tidak ada data';
    if (kind === 'rate') return desimal.format(value * 100) + ' %';
    return Number.isInteger(value) ? angka.format(value) : desimal.format(value);
  }
  // How a hidden small figure reads ("< 5"); the server says the threshold.
  function SUPPRESSED() { return (state.suppressedLabel || '< 5'); }
  function labelOf(field) {
    const found = FIELDS.get(field);
    return found ? found.label : field;
  }
  let FLOWS = [];
  function setFields(list, flows) {
    for (const f of list) FIELDS.set(f.name, f);
    FLOWS = flows || [];
    for (const f of FLOWS) FIELDS.set(f.name, { name: f.name, label: f.label, kind: 'count' });
    const listed = (key, label) => list.filter((f) => f[key] !== null)
      .sort((a, b) => a[key] - b[key]).map((f) => [f.name, f[label], f.kind]);
    INDICATORS = listed('map', 'label');
    PANEL_FIGURES = listed('panel', 'short_label');
    if (!INDICATORS.some((i) => i[0] === state.indicator) && !FLOWS.some((f) => f.name === state.indicator) && INDICATORS.length) {
      state.indicator = INDICATORS[0][0];
    }
  }
  // "Kota Samarinda", not "Kota Kota Samarinda": names that already carry their kind keep it.
  function fullName(jenis, nama) {
    const kind = JENIS_NAMES[jenis] || '';
    return !kind || String(nama).toLowerCase().startsWith(kind.toLowerCase() + ' ') ? nama : kind + ' ' + nama;
  }
  function numericId(kode) { return Number(String(kode).replaceAll('.', '')); }

  // ---- state and URL ------------------------------------------------------------------
  const params = new URLSearchParams(location.search);
  const state = {
    indicator: params.get('indikator') || 'desil_1',
    level: params.get('tingkat') || 'otomatis',
    method: params.get('metode') || 'ckmeans',
    classes: Number(params.get('kelas') || 5),
    period: params.get('periode') || '',
    base: params.get('pembanding') || '',
    selected: params.get('pilih') || '',
    // The area the priority list ranks inside ('' for everywhere): the unit chosen above the
    // list's level; choosing a unit from the list keeps it.
    area: params.get('wilayah') || '',
    targetLevel: params.get('daftar') || 'desa',
    top: Number(params.get('jumlah') || 10),
    minHouseholds: Number(params.get('min_rt') || 10),
    // Who is logged in (GET /api/session); null for an anonymous visitor.
    session: null,
    showHouseholds: true,
    // A PMTiles archive written by `lentera export pmtiles` whose tiles are drawn instead of
    // the server's (?pmtiles=URL; the host must answer HTTP range requests).
    archive: params.get('pmtiles') || '',
  };
  if (!(state.classes >= 3 && state.classes <= 9)) state.classes = 5;

  function saveUrl() {
    const p = new URLSearchParams();
    p.set('indikator', state.indicator);
    p.set('tingkat', state.level);
    if (state.method !== 'ckmeans') p.set('metode', state.method);
    if (state.classes !== 5) p.set('kelas', String(state.classes));
    if (state.period) p.set('periode', state.period);
    if (state.base) p.set('pembanding', state.base);
    if (state.selected) p.set('pilih', state.selected);
    if (state.area) p.set('wilayah', state.area);
    if (state.targetLevel !== 'desa') p.set('daftar', state.targetLevel);
    if (state.top !== 10) p.set('jumlah', String(state.top));
    if (state.minHouseholds !== 10) p.set('min_rt', String(state.minHouseholds));
    if (state.archive) p.set('pmtiles', state.archive);
    history.replaceState(null, '', '?' + p.toString() + location.hash);
  }

  // ---- status and errors --------------------------------------------------------------
  let loading = 0;
  function setStatus(text, isError) {
    const el = $('status');
    el.textContent = text || '';
    el.classList.toggle('galat', Boolean(isError));
  }
  async function api(url, options) {
    loading += 1;
    if (loading === 1) setStatus('Memuat data…');
    try {
      const r = await fetch(url, options);
      if (!r.ok) {
        let message = 'HTTP ' + r.status;
        try { message = (await r.json()).error || message; } catch (_) { /* not JSON */ }
        throw new Error(message);
      }
      return await r.json();
    } finally {
      loading -= 1;
      if (loading === 0 && !$('status').classList.contains('galat')) setStatus('');
    }
  }
  // A failed request in words: the server's own reason, or that it could not be reached
  // (the browser's raw network error is not shown).
  function showError(prefix, e) {
    const offline = e instanceof TypeError;
    setStatus(prefix + ': ' + (offline ? 'server tidak dapat dihubungi — periksa sambungan lalu coba lagi'
      : e && e.message ? e.message : String(e)), true);
  }

  // ---- the map ------------------------------------------------------------------------
  if (typeof maplibregl === 'undefined') {
    setStatus('Pustaka peta (MapLibre) belum terpasang di server: jalankan "npm ci --prefix web".', true);
    return;
  }
  // Whether the URL names a position (MapLibre writes one into the hash as soon as it starts).
  const urlHasPosition = location.hash.includes('posisi=');
  // Start MapLibre's tile workers while the page fetches its data.
  if (typeof maplibregl.prewarm === 'function') maplibregl.prewarm();
  const map = new maplibregl.Map({
    container: 'peta',
    hash: 'posisi',
    style: {
      version: 8,
      // Place names are drawn with glyphs from this server's fonts: nothing leaves it.
      glyphs: location.origin + '/fonts/{fontstack}/{range}.pbf',
      sources: {},
      layers: [{ id: 'latar', type: 'background', paint: { 'background-color': '#f4f1ea' } }],
    },
    center: [117, 0],
    zoom: 5,
    // Nothing fades in: the map is ready as soon as its tiles are drawn.
    fadeDuration: 0,
    attributionControl: { compact: true },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'bottom-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');

  const lentera = {
    map,
    state,
    choropleth: {},
    firstRenderMs: null,
    shownLevel: () => shownLevel(),
    // Milliseconds from the script's start to each step of the first render.
    timings: {},
    ready: false,
    // Requests made for the logged-in user: logging out waits for them, so none of them
    // reaches the server after its session has ended (it would be refused with 401).
    userFetch: (url, init) => {
      const p = fetch(url, init);
      userRequests.add(p);
      const done = () => userRequests.delete(p);
      p.then(done, done);
      return p;
    },
  };
  const userRequests = new Set();
  const mark = (name) => { if (!(name in lentera.timings)) lentera.timings[name] = Math.round(performance.now() - started); };
  window.lentera = lentera;

  function zoomLevel() {
    const z = map.getZoom();
    if (z < 8) return 'kabupaten';
    if (z < 10) return 'kecamatan';
    return 'desa';
  }
  function shownLevel() { return state.level === 'otomatis' ? zoomLevel() : state.level; }
  const isFlow = (field) => field.startsWith('transition_');
  function shownIndicator() {
    if (isFlow(state.indicator)) return state.indicator;
    return state.base ? state.indicator + '_change' : state.indicator;
  }

  // Boundary tiles carry the figures of one period: the period shown.
  function tileUrl(level) {
    // An archive holds every level in each tile, for its one period.
    if (state.archive) return 'pmtiles://' + new URL(state.archive, location.href).href + '/{z}/{x}/{y}';
    const p = state.period ? '?period=' + encodeURIComponent(state.period) : '';
    return location.origin + '/tiles/' + level + '/{z}/{x}/{y}.mvt' + p;
  }
  // The fonts the server draws place names with (none: the map shows no names).
  const fontsReady = fetch('/fonts.json').then((r) => (r.ok ? r.json() : null)).catch(() => null);
  function addBoundaryLayers(tilejsons, fonts) {
    LEVELS.forEach((level, i) => {
      const tj = tilejsons[i];
      MIN_ZOOM[level] = tj.minzoom || 0;
      map.addSource(level, {
        type: 'vector', tiles: [tileUrl(level)], minzoom: tj.minzoom, maxzoom: tj.maxzoom, bounds: tj.bounds,
      });
    });
    for (const level of LEVELS) {
      map.addLayer({
        id: level + '-isi', type: 'fill', source: level, 'source-layer': level,
        layout: { visibility: 'none' },
        paint: { 'fill-color': NO_DATA_COLOR, 'fill-opacity': 0.85, 'fill-outline-color': 'rgba(60, 60, 60, 0.45)' },
      });
    }
    map.addLayer({
      id: 'desa-batas', type: 'line', source: 'desa', 'source-layer': 'desa', minzoom: 9,
      paint: { 'line-color': '#6b6b6b', 'line-width': 0.4 },
    });
    // The borders over each level's fill: a level's own outlines, and its parents' borders as
    // its units draw them (`{level}_batas`: a parent's own boundary file may cross them).
    map.addLayer({
      id: 'kecamatan-batas', type: 'line', source: 'kecamatan', 'source-layer': 'kecamatan',
      layout: { visibility: 'none' },
      paint: { 'line-color': '#3a3a3a', 'line-width': ['interpolate', ['linear'], ['zoom'], 7, 0.5, 10, 1] },
    });
    map.addLayer({
      id: 'kecamatan-induk', type: 'line', source: 'kecamatan', 'source-layer': 'kecamatan_batas',
      layout: { visibility: 'none' },
      paint: { 'line-color': '#222', 'line-width': 1.6 },
    });
    map.addLayer({
      id: 'desa-induk', type: 'line', source: 'desa', 'source-layer': 'desa_batas',
      layout: { visibility: 'none' },
      paint: {
        'line-color': ['match', ['get', 'tingkat'], 'kabupaten', '#222', '#3a3a3a'],
        'line-width': ['interpolate', ['linear'], ['zoom'],
          8, ['match', ['get', 'tingkat'], 'kabupaten', 1.8, 0.8],
          12, ['match', ['get', 'tingkat'], 'kabupaten', 2, 1.4]],
      },
    });
    map.addLayer({
      id: 'kabupaten-batas', type: 'line', source: 'kabupaten', 'source-layer': 'kabupaten',
      layout: { visibility: 'none' },
      paint: { 'line-color': '#222', 'line-width': 1.6 },
    });
    for (const level of LEVELS) {
      map.addLayer({
        id: level + '-pilih', type: 'line', source: level, 'source-layer': level,
        filter: ['==', ['get', 'kode'], ''],
        paint: { 'line-color': '#1d4ed8', 'line-width': 3 },
      });
    }
    if (fonts && fonts.regular) addNameLayers(fonts);
  }
  // Place names of each level, shown with the level's colours: larger units' names first
  // (`peringkat`), a white halo so they read on any class colour, and sizes that keep a
  // choropleth readable rather than a road map's density.
  const NAME_SIZE = {
    kabupaten: ['interpolate', ['linear'], ['zoom'], 5, 11, 9, 15],
    kecamatan: ['interpolate', ['linear'], ['zoom'], 7, 10, 11, 13],
    desa: ['interpolate', ['linear'], ['zoom'], 8, 9, 13, 12, 16, 14],
  };
  function addNameLayers(fonts) {
    for (const level of LEVELS) {
      map.addLayer({
        id: level + '-nama', type: 'symbol', source: level, 'source-layer': level + '_label',
        layout: {
          visibility: 'none',
          'text-field': ['get', 'label'],
          'text-font': [level === 'kabupaten' ? (fonts.bold || fonts.regular) : fonts.regular],
          'text-size': NAME_SIZE[level],
          'symbol-sort-key': ['get', 'peringkat'],
          'text-max-width': 7,
          'text-padding': 3,
          'text-letter-spacing': level === 'kabupaten' ? 0.04 : 0,
        },
        paint: {
          'text-color': '#1c1c1c',
          'text-halo-color': 'rgba(255, 255, 255, 0.92)',
          'text-halo-width': 1.5,
          'text-halo-blur': 0.3,
        },
      });
    }
    lentera.names = LEVELS.map((l) => l + '-nama');
  }

  // ---- choropleth ---------------------------------------------------------------------
  function choroplethUrl(level) {
    const p = new URLSearchParams({
      level, indicator: shownIndicator(), method: state.method, classes: String(state.classes),
      min_households: String(state.minHouseholds),
    });
    if (state.period) p.set('period', state.period);
    if (state.base) p.set('base', state.base);
    return '/api/choropleth?' + p.toString();
  }

  // The zoom from which the server tiles each level.
  const MIN_ZOOM = { kabupaten: 0, kecamatan: 6, desa: 8 };
  function zoomHint(level) {
    if (map.getZoom() < MIN_ZOOM[level] - 0.01) {
      setStatus('Batas ' + LEVEL_NAMES[level].toLowerCase() + ' tampil mulai perbesaran ' + MIN_ZOOM[level] + ': perbesar peta.');
    }
  }

  // "Unduh gambar peta": the picture /api/map.png draws of the map shown (the same classes),
  // inside the unit selected when it lies above the level shown, at the map's proportions.
  function updateMapImageLink() {
    const level = shownLevel();
    const p = new URLSearchParams({
      level, indicator: shownIndicator(), method: state.method, classes: String(state.classes),
      min_households: String(state.minHouseholds),
    });
    if (state.period) p.set('period', state.period);
    if (state.base) p.set('base', state.base);
    const depth = { kabupaten: 2, kecamatan: 3, desa: 4 }[level];
    if (state.selected && state.selected.split('.').length < depth) p.set('parent', state.selected);
    const canvas = map.getCanvas();
    const width = 1400;
    const height = Math.max(600, Math.min(1400, Math.round(width * canvas.clientHeight / Math.max(1, canvas.clientWidth)) + 90));
    p.set('width', String(width));
    p.set('height', String(height));
    $('unduh-peta').href = '/api/map.png?' + p.toString();
    $('unduh-peta').download = 'peta-' + level + (p.get('parent') ? '-' + p.get('parent') : '') + '.png';
  }
  const applied = {};
  // Answers asked for before the map was ready (the first view's classes).
  const prefetched = new Map();
  async function showChoropleth() {
    const level = shownLevel();
    const url = choroplethUrl(level);
    for (const l of LEVELS) {
      for (const suffix of ['-isi', '-nama', '-batas', '-induk']) {
        // The thin desa lines show under the kecamatan too, from zoom 9.
        if (l + suffix === 'desa-batas' || !map.getLayer(l + suffix)) continue;
        map.setLayoutProperty(l + suffix, 'visibility', l === level ? 'visible' : 'none');
      }
    }
    if (applied[level] === url) {
      updateMapImageLink();
      renderLegend(lentera.choropleth[level]);
      zoomHint(level);
      refreshTooltip();
      return;
    }
    let c;
    try {
      mark('asked');
      c = await (prefetched.get(url) || api(url));
      mark('answered');
    } catch (e) {
      showError('Peta tidak dapat digambar', e);
      return;
    }
    // A later change (level, period, indicator…) asked for another map meanwhile.
    if (url !== choroplethUrl(shownLevel())) return;
    lentera.choropleth[level] = c;
    c.byKode = new Map(c.units.map((u) => [u.kode, u]));
    // Every unit of the level is in the answer, so each state is overwritten; removing the old
    // states first would race MapLibre's batching of state changes.
    for (const u of c.units) {
      const k = u.few ? -2 : (u.class === null || u.class === undefined ? -1 : u.class);
      map.setFeatureState({ source: level, sourceLayer: level, id: numericId(u.kode) }, { k });
    }
    const match = ['match', ['coalesce', ['feature-state', 'k'], -1]];
    c.colors.forEach((colour, i) => { match.push(i, colour); });
    match.push(-2, c.few_color || FEW_COLOR);
    match.push(c.no_data_color || NO_DATA_COLOR);
    map.setPaintProperty(level + '-isi', 'fill-color', c.colors.length || c.few ? match : NO_DATA_COLOR);
    applied[level] = url;
    updateMapImageLink();
    renderLegend(c);
    zoomHint(level);
    refreshTooltip();
    mark('classes');
    map.once('idle', () => {
      mark('drawn');
      if (lentera.firstRenderMs === null) {
        lentera.firstRenderMs = Math.round(performance.now() - started);
      }
      lentera.ready = true;
      document.body.dataset.siap = '1';
    });
  }

  function renderLegend(c) {
    if (!c) return;
    const title = labelOf(state.indicator) + (state.base ? (isFlow(state.indicator) ? ', ' : ' — perubahan ') + state.base + ' → ' + c.period : '');
    $('judul-legenda').textContent = title;
    const box = $('legenda');
    box.innerHTML = '';
    const row = (colour, label, count) => {
      const d = document.createElement('div');
      d.className = 'kelas';
      d.innerHTML = '<span class="warna"></span><span class="rentang"></span><span class="jumlah"></span>';
      d.children[0].style.background = colour;
      d.children[1].textContent = label;
      d.children[2].textContent = angka.format(count) + ' ' + (LEVEL_NAMES[c.level] || '').split('/')[0].toLowerCase();
      box.appendChild(d);
    };
    // On a phone the legend above lives in the closed sheet: a one-line copy of its classes
    // stays over the map.
    const mini = $('legenda-mini');
    mini.replaceChildren();
    const chip = (colour, label) => {
      const span = document.createElement('span');
      const swatch = document.createElement('i');
      swatch.style.background = colour;
      span.append(swatch, label);
      mini.appendChild(span);
    };
    c.colors.forEach((colour, i) => { row(colour, c.labels[i], c.counts[i]); chip(colour, c.labels[i]); });
    if (c.few) row(c.few_color || FEW_COLOR, c.few_label, c.few);
    if (c.suppressed) row(c.no_data_color || NO_DATA_COLOR, c.suppressed_label, c.suppressed);
    row(c.no_data_color || NO_DATA_COLOR, c.no_data_label || 'Tidak ada data', c.no_data || 0);
    chip(c.no_data_color || NO_DATA_COLOR, 'tidak ada data');
    // Why units have no value ("sumber … tidak memuat desil") or no change ("tidak sebanding: …").
    for (const r of (c.no_data_reasons || []).slice(0, 2)) {
      const why = document.createElement('p');
      why.className = 'catatan alasan';
      why.textContent = r.reason.charAt(0).toUpperCase() + r.reason.slice(1) + ' (' + angka.format(r.units) + ' ' +
        (LEVEL_NAMES[c.level] || '').split('/')[0].toLowerCase() + ')';
      box.appendChild(why);
    }
    const note = document.createElement('p');
    note.className = 'kecil';
    note.textContent = 'Periode ' + (c.period || '—') + ' · ' + LEVEL_NAMES[c.level] + ' · ' +
      (c.method_label || $('metode').selectedOptions[0].textContent);
    note.title = c.method_about || '';
    box.appendChild(note);
    $('metode').title = (c.method_label || '') + ' — ' + (c.method_about || '');
    renderSources();
  }

  // ---- what the figures rest on -------------------------------------------------------
  // Per period, the kabupaten/kota with their sources (from /api/sources).
  const sourcesByPeriod = new Map();
  function sourcesOf(period) {
    if (!period) return Promise.resolve([]);
    if (!sourcesByPeriod.has(period)) {
      const answer = api('/api/sources?level=kabupaten&period=' + encodeURIComponent(period));
      answer.catch(() => sourcesByPeriod.delete(period));
      sourcesByPeriod.set(period, answer);
    }
    return sourcesByPeriod.get(period);
  }
  function sourceMix(units) {
    const names = new Set();
    for (const u of units) for (const s of u.sources) names.add(SOURCE_NAMES[s.source] || s.source);
    return [...names].sort();
  }
  async function renderSources() {
    const period = state.period;
    const base = state.base;
    let now, before;
    try {
      [now, before] = await Promise.all([sourcesOf(period), base ? sourcesOf(base) : Promise.resolve(null)]);
    } catch (_) {
      return;
    }
    if (period !== state.period || base !== state.base) return;
    const covered = now.filter((u) => u.households > 0).length;
    const mix = sourceMix(now);
    $('ringkas-sumber').textContent = 'Periode ' + period + ': ' + (mix.length ? mix.join(', ') : 'tanpa sumber') +
      ' · ' + covered + ' dari ' + now.length + ' kabupaten/kota';
    const warn = $('beda-sumber');
    if (before) {
      const mixBefore = sourceMix(before);
      const differ = mix.join() !== mixBefore.join();
      warn.hidden = !differ;
      warn.textContent = differ
        ? 'Sumber data kedua periode berbeda: ' + base + ' dari ' + (mixBefore.join(', ') || '—') + ', ' + period +
          ' dari ' + (mix.join(', ') || '—') + '. Perubahan hanya dihitung untuk angka yang dimuat kedua periode dengan definisi yang sama.'
        : '';
    } else {
      warn.hidden = true;
    }
  }

  // ---- hover tooltip ------------------------------------------------------------------
  const tooltip = $('tooltip');
  // Where the pointer rests on the map: the tooltip is written again there when the figures
  // shown change under it (another indicator, period or level).
  let hoverPoint = null;
  function onHover(e) {
    const f = e.features && e.features[0];
    if (!f) return;
    hoverPoint = e.point;
    renderTooltip(f, e.point);
  }
  function refreshTooltip(retried) {
    if (tooltip.hidden || !hoverPoint) return;
    const layer = shownLevel() + '-isi';
    const f = map.getLayer(layer) ? map.queryRenderedFeatures([hoverPoint.x, hoverPoint.y], { layers: [layer] })[0] : null;
    if (f) renderTooltip(f, hoverPoint);
    // A level just made visible has no rendered features until the map is drawn again.
    else if (!retried) map.once('idle', () => refreshTooltip(true));
    else onLeave();
  }
  function renderTooltip(f, point) {
    const level = f.sourceLayer;
    const c = lentera.choropleth[level];
    const unit = c && c.byKode ? c.byKode.get(f.properties.kode) : null;
    const value = unit ? unit.value : null;
    tooltip.innerHTML = '<strong></strong><span></span><br><span></span><br><span></span>';
    tooltip.children[0].textContent = fullName(f.properties.jenis, f.properties.nama);
    tooltip.children[1].textContent = f.properties.kode;
    tooltip.children[3].textContent = labelOf(state.indicator) + (state.base ? ' (perubahan)' : '') + ': ' +
      (unit && unit.suppressed ? SUPPRESSED() + ' rumah tangga'
        : unit && unit.few ? 'terlalu sedikit data (' + format(value, kindOf(shownIndicator())) + ')' : format(value, kindOf(shownIndicator())));
    tooltip.children[5].textContent = f.properties.suppressed
      ? 'Disembunyikan: ' + SUPPRESSED() + ' rumah tangga'
      : f.properties.has_data === false
      ? 'Tidak ada data untuk periode ini'
      : 'Rumah tangga: ' + format(f.properties.households, 'count') + ' · desil 1: ' + format(f.properties.desil_1, 'count');
    tooltip.dataset.indikator = shownIndicator();
    tooltip.style.left = (point.x + 14) + 'px';
    tooltip.style.top = (point.y + 14) + 'px';
    tooltip.hidden = false;
    map.getCanvas().style.cursor = 'pointer';
  }
  function onLeave() {
    hoverPoint = null;
    tooltip.hidden = true;
    map.getCanvas().style.cursor = '';
  }

  // ---- unit panel ---------------------------------------------------------------------
  // Names of the units seen, by code (the priority list's heading names its area).
  const unitNames = new Map();
  const LIST_DEPTH = { kabupaten: 2, kecamatan: 3, desa: 4 };
  const depthOf = (kode) => String(kode).split('.').length;
  // The priority list's area once `kode` is chosen elsewhere than in the list: the unit when it
  // lies above the list's level; the area kept when the unit lies inside it; else everywhere.
  function areaFor(kode) {
    if (depthOf(kode) < LIST_DEPTH[state.targetLevel]) return kode;
    if (state.area && kode.startsWith(state.area + '.')) return state.area;
    return '';
  }
  // Shows the unit whole, in the part of the map no panel or strip covers, and no closer than
  // a street-level view of a small kelurahan.
  const FIT_MAX_ZOOM = 14;
  function fitUnit(bbox) {
    const box = map.getContainer().getBoundingClientRect();
    const pad = { top: 30, right: 30, bottom: 30, left: 30 };
    const panel = $('panel');
    if (!panel.hidden) {
      const r = panel.getBoundingClientRect();
      // A panel along the bottom (a phone) or along the right side.
      if (r.width > box.width * 0.8) pad.bottom = Math.max(pad.bottom, box.bottom - r.top + 20);
      else pad.right = Math.max(pad.right, box.right - r.left + 20);
    }
    const strip = $('ringkasan');
    if (!strip.hidden) pad.top = Math.max(pad.top, strip.getBoundingClientRect().bottom - box.top + 10);
    // Padding may not leave less than a quarter of the map to show the unit in.
    if (pad.left + pad.right > box.width * 0.75) pad.right = Math.max(10, box.width * 0.75 - pad.left);
    if (pad.top + pad.bottom > box.height * 0.75) pad.top = Math.max(10, box.height * 0.75 - pad.bottom);
    map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: pad, maxZoom: FIT_MAX_ZOOM, duration: 600 });
  }
  async function selectUnit(kode, { zoom = true, fromList = false } = {}) {
    state.selected = kode;
    if (!fromList) state.area = areaFor(kode);
    saveUrl();
    const p = new URLSearchParams();
    if (state.period) p.set('period', state.period);
    if (state.base) p.set('base', state.base);
    p.set('min_households', String(state.minHouseholds));
    let r;
    try {
      r = await api('/api/regions/' + encodeURIComponent(kode) + '?' + p.toString());
    } catch (e) {
      showError('Rincian wilayah tidak dapat dimuat', e);
      return;
    }
    for (const l of LEVELS) {
      map.setFilter(l + '-pilih', ['==', ['get', 'kode'], l === r.level ? r.kode : '']);
    }
    for (const u of [r, ...(r.parents || [])]) unitNames.set(u.kode, fullName(u.jenis, u.nama));
    renderPanel(r);
    renderFlows(r);
    renderTrend(kode);
    renderHeadline(r);
    closeSheet();
    if (zoom && r.bbox) fitUnit(r.bbox);
    loadTargets();
  }

  // ---- trend and target -----------------------------------------------------------------
  // The indicator a trend shows: the one on the map (its level, not its change).
  function trendIndicator() {
    return isFlow(state.indicator) ? 'desil_1' : state.indicator;
  }
  const TREND_COLOURS = ['#1d4ed8', '#d97706', '#6b7280'];
  const SVG_NS = 'http://www.w3.org/2000/svg';
  function svg(name, attrs, text) {
    const el = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }
  async function renderTrend(kode) {
    const indicator = trendIndicator();
    let t;
    try {
      t = await api('/api/trend?' + new URLSearchParams({ kode, indicator }).toString());
    } catch (e) {
      $('tren').hidden = true;
      return;
    }
    if (state.selected !== kode || trendIndicator() !== indicator) return;
    lentera.trend = t;
    drawTrend(t);
  }
  function drawTrend(t) {
    const box = $('grafik-tren');
    box.innerHTML = '';
    $('tren').hidden = false;
    $('judul-tren').textContent = 'Tren: ' + t.label;
    const kind = t.kind;
    const [W, H, L, R, T, B] = [320, 170, 46, 10, 10, 28];
    const values = t.series.flatMap((s) => s.points.map((p) => p.value)).filter((v) => v !== null);
    if (t.goal) values.push(t.goal.value);
    const top = values.length ? Math.max(...values) : 0;
    const yMax = top > 0 ? top * 1.12 : (kind === 'rate' ? 0.01 : 1);
    const n = t.periods.length;
    const x = (i) => L + (n <= 1 ? (W - L - R) / 2 : i * (W - L - R) / (n - 1));
    const y = (v) => T + (H - T - B) * (1 - v / yMax);
    for (let k = 0; k <= 4; k++) {
      const v = yMax * k / 4;
      box.appendChild(svg('line', { class: 'kisi', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      box.appendChild(svg('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' }, format(kind === 'rate' ? v : Math.round(v), kind)));
    }
    box.appendChild(svg('line', { class: 'sumbu', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    t.periods.forEach((p, i) => {
      const anchor = n > 1 && i === 0 ? 'start' : n > 1 && i === n - 1 ? 'end' : 'middle';
      box.appendChild(svg('text', { x: x(i), y: H - B + 14, 'text-anchor': anchor }, p));
    });
    if (t.goal) {
      const g = svg('line', { class: 'target', x1: L, x2: W - R, y1: y(t.goal.value), y2: y(t.goal.value) });
      g.appendChild(svg('title', {}, 'Target ' + t.goal.year));
      box.appendChild(g);
      box.appendChild(svg('text', { x: W - R, y: y(t.goal.value) - 4, 'text-anchor': 'end', fill: '#c81e1e' },
        'Target ' + t.goal.year + ': ' + format(t.goal.value, kind)));
    }
    const keys = $('kunci-tren');
    keys.innerHTML = '';
    t.series.forEach((s, si) => {
      const colour = TREND_COLOURS[si] || '#444';
      // Lines join neighbouring periods with values; "no data" leaves a gap.
      let d = '';
      s.points.forEach((p, i) => {
        if (p.value === null) { d += ' '; return; }
        const prev = i > 0 ? s.points[i - 1].value : null;
        d += (prev === null || i === 0 ? 'M' : 'L') + x(i).toFixed(1) + ',' + y(p.value).toFixed(1);
      });
      box.appendChild(svg('path', { d: d.trim() || 'M0,0', fill: 'none', stroke: colour, 'stroke-width': si === 0 ? 2.5 : 1.5, 'stroke-dasharray': si === 2 ? '4 2' : 'none' }));
      s.points.forEach((p, i) => {
        if (p.value === null) return;
        const c = svg('circle', { cx: x(i), cy: y(p.value), r: si === 0 ? 3.5 : 2.5, fill: colour });
        c.appendChild(svg('title', {}, s.nama + ', ' + p.period + ': ' + format(p.value, kind)));
        box.appendChild(c);
      });
      const li = document.createElement('li');
      li.innerHTML = '<i></i>';
      li.firstChild.style.background = colour;
      li.appendChild(document.createTextNode(s.nama));
      keys.appendChild(li);
    });
    const unit = t.series[0];
    const missing = unit.points.filter((p) => p.value === null).length;
    const notes = [];
    if (missing) notes.push(missing + ' dari ' + n + ' periode tanpa angka untuk ' + unit.nama + ' (tidak ada data' + (unit.points.some((p) => p.suppressed) ? ' atau disembunyikan' : '') + ').');
    if (t.kind !== 'rate') notes.push('Jumlah tidak dibandingkan dengan wilayah induk; pilih indikator persentase untuk membandingkan.');
    if (!t.goal) notes.push('Belum ada target untuk indikator ini.');
    $('ket-tren').textContent = notes.join(' ');
  }

  // ---- headline strip ------------------------------------------------------------------
  // Households, desil 1 and extreme poor of the selected unit (or the province) in the period
  // shown, with their change from the period before and the sources.
  async function renderHeadline(selected) {
    let r = selected;
    if (!r) {
      try {
        const provinces = await api('/api/indicators?level=provinsi' + (state.period ? '&period=' + encodeURIComponent(state.period) : ''));
        if (!provinces.length) return;
        r = await api('/api/regions/' + encodeURIComponent(provinces[0].kode) + headlineQuery());
      } catch (_) { return; }
    } else if (!state.base) {
      try { r = await api('/api/regions/' + encodeURIComponent(r.kode) + headlineQuery()); } catch (_) { /* keep it */ }
    }
    if (selected && state.selected !== selected.kode) return;
    $('ringkasan').hidden = false;
    $('ringkasan-wilayah').textContent = fullName(r.jenis, r.nama) + (r.period ? ' · ' + r.period : '');
    for (const [field, id] of [['households', 'rt'], ['desil_1', 'd1'], ['extreme_poor', 'me']]) {
      const v = r.suppressed ? null : r[field];
      $('ringkasan-' + id).textContent = r.suppressed ? SUPPRESSED() : format(v, 'count');
      const ch = r[field + '_change'];
      const note = r.change_notes && r.change_notes[field];
      const el = $('ringkasan-' + id + '-ubah');
      el.className = '';
      if (ch !== null && ch !== undefined && r.base_period) {
        el.textContent = (ch > 0 ? '+' : '') + format(ch, 'count') + ' sejak ' + r.base_period;
        if (ch !== 0) el.className = ch > 0 ? 'naik' : 'turun';
      } else if (r.base_period) {
        el.textContent = note ? 'perubahan tidak sebanding' : 'perubahan: tidak ada data';
        el.title = note || '';
      } else {
        el.textContent = 'belum ada periode pembanding';
      }
    }
    const sources = (r.sources || []).map((s) => String(s.source || '').toUpperCase()).filter(Boolean);
    $('ringkasan-sumber').textContent = sources.length ? [...new Set(sources)].join(', ') : 'tidak ada data';
  }
  // The period shown and, as its base, the comparison chosen or else the period before it.
  function headlineQuery() {
    const p = new URLSearchParams();
    if (state.period) p.set('period', state.period);
    const earlier = [...$('periode').options].map((o) => o.value).filter((v) => v && v < state.period);
    const base = state.base || (earlier.length ? earlier[earlier.length - 1] : '');
    if (base) p.set('base', base);
    return '?' + p.toString();
  }

  function renderPanel(r) {
    $('panel').hidden = false;
    const crumbs = $('remah');
    crumbs.innerHTML = '';
    for (const parent of r.parents || []) {
      const a = document.createElement('a');
      a.textContent = parent.nama;
      a.addEventListener('click', () => selectUnit(parent.kode));
      crumbs.appendChild(a);
      crumbs.appendChild(document.createTextNode(' › '));
    }
    $('nama-wilayah').textContent = fullName(r.jenis, r.nama);
    $('unduh-profil').href = '/api/profile/' + encodeURIComponent(r.kode) + '.pdf';
    $('unduh-profil').download = 'profil-' + r.kode + '.pdf';
    $('jenis-wilayah').textContent = 'Kode ' + r.kode + (r.period ? ' · periode ' + r.period : '') +
      (r.suppressed ? ' · angka disembunyikan (' + SUPPRESSED() + ' rumah tangga)'
        : r.has_data === false ? ' · tidak ada data untuk periode ini' : '');
    const table = $('angka-wilayah');
    table.innerHTML = '';
    for (const [field, label, kind] of PANEL_FIGURES) {
      const tr = document.createElement('tr');
      tr.dataset.field = field;
      tr.innerHTML = '<td></td><td></td>';
      tr.children[0].textContent = label;
      let text = r.suppressed ? SUPPRESSED() : format(r[field], kind);
      if (kind === 'rate' && (r.few_households || []).includes(field)) text += ' · terlalu sedikit data';
      if (state.base && r[field + '_change'] !== undefined && r[field + '_change'] !== null) {
        const ch = r[field + '_change'];
        text += ' (' + (ch > 0 ? '+' : '') + format(ch, kind) + ')';
      }
      tr.children[1].textContent = text;
      const why = state.base && r.change_notes ? r.change_notes[field] : null;
      if (why) {
        const note = document.createElement('span');
        note.className = 'catatan';
        note.textContent = why;
        tr.children[1].appendChild(note);
      }
      table.appendChild(tr);
    }
    renderUnitSources(r);
    renderChildren(r);
  }

  // The children of the unit shown, by the indicator shown: from the unit's answer, or for a
  // flow of households from /api/transitions of the children's level.
  async function renderChildren(r) {
    const children = (r.children || []).map((c) => Object.assign({}, c));
    const shown = shownIndicator();
    if (isFlow(shown) && children.length && state.base) {
      const p = new URLSearchParams({ level: children[0].level, parent: r.kode, period: r.period || state.period, base: state.base });
      try {
        const flows = new Map((await api('/api/transitions?' + p.toString())).map((f) => [f.kode, f]));
        const field = shown.slice('transition_'.length);
        for (const c of children) c[shown] = flows.has(c.kode) ? flows.get(c.kode)[field] : null;
      } catch (_) { /* the children then read "tidak ada data" */ }
      if (state.selected !== r.kode) return;
    }
    children.sort((a, b) => (b[shown] ?? -Infinity) - (a[shown] ?? -Infinity));
    $('judul-anak').textContent = children.length
      ? LEVEL_NAMES[CHILD[r.level]] + ' (' + children.length + '), menurut ' + labelOf(state.indicator).toLowerCase()
      : '';
    const list = $('anak-wilayah');
    list.innerHTML = '';
    for (const child of children) {
      const li = document.createElement('li');
      li.innerHTML = '<span></span><span></span>';
      li.children[0].textContent = child.nama;
      li.children[1].textContent = format(child[shown], kindOf(shown));
      li.addEventListener('click', () => selectUnit(child.kode));
      list.appendChild(li);
    }
  }

  function renderUnitSources(r) {
    const list = $('sumber-wilayah');
    list.innerHTML = '';
    const sources = r.sources || [];
    $('sumber').hidden = false;
    if (!sources.length) {
      const li = document.createElement('li');
      li.textContent = 'Tidak ada sumber untuk periode ' + (r.period || 'ini') + '.';
      list.appendChild(li);
      return;
    }
    const pct = (x) => x === null || x === undefined ? '—' : desimal.format(x * 100) + ' %';
    for (const s of sources) {
      const li = document.createElement('li');
      li.dataset.batch = String(s.batch_id);
      li.innerHTML = '<strong></strong> <span></span><br><span></span><br><span></span>';
      li.children[0].textContent = SOURCE_NAMES[s.source] || s.source;
      li.children[1].textContent = s.file_name + ' · diimpor ' + String(s.imported_at || '').slice(0, 10);
      li.children[3].textContent = angka.format(s.households) + ' rumah tangga · GPS ' + pct(s.share_gps) +
        ' · kode ' + pct(s.share_code) + ' · nama ' + pct(s.share_names) + ' · perlu ditinjau ' + pct(s.share_flagged);
      const states = (s.states || []).filter((f) => !['desil_4', 'desil_10'].includes(f)).map((f) => FIELD_NAMES[f] || f);
      li.children[5].textContent = 'Memuat: ' + (states.length ? states.join(', ') : 'hanya identitas dan alamat');
      list.appendChild(li);
    }
  }

  // The flows of households between the base period and the period, for the unit shown.
  async function renderFlows(r) {
    const box = $('arus');
    if (!state.base || !r.period || r.level === 'provinsi') { box.hidden = true; return; }
    const p = new URLSearchParams({ level: r.level, period: r.period, base: state.base });
    if (r.parent) p.set('parent', r.parent);
    let list;
    try {
      list = await api('/api/transitions?' + p.toString());
    } catch (e) {
      box.hidden = true;
      return;
    }
    const t = list.find((x) => x.kode === r.kode);
    if (!t || state.selected !== r.kode) { box.hidden = true; return; }
    $('judul-arus').textContent = 'Perubahan rumah tangga ' + t.base_period + ' → ' + t.period;
    const table = $('arus-wilayah');
    table.innerHTML = '';
    const rows = t.note ? [['Keterangan', t.note]] : [
      ['Tetap di wilayah ini', t.stayed], ['Baru masuk daftar', t.entered], ['Keluar dari daftar', t.left],
      ['Pindah ke sini', t.moved_in], ['Pindah dari sini', t.moved_out],
      ['Desil turun (lebih miskin)', t.desil_down], ['Desil tetap', t.desil_same], ['Desil naik', t.desil_up],
      ['Keluar dari desil 1', t.left_desil_1], ['Masuk desil 1', t.entered_desil_1],
    ];
    for (const [label, v] of rows) {
      const tr = document.createElement('tr');
      tr.innerHTML = '<td></td><td></td>';
      tr.children[0].textContent = label;
      tr.children[1].textContent = typeof v === 'string' ? v : format(v, 'count');
      table.appendChild(tr);
    }
    box.hidden = false;
  }

  // ---- search -------------------------------------------------------------------------
  let searchTimer = null;
  // The list under the search box: close names for a typo ({ maksud: name }), then units.
  let suggestions = [];
  let active = -1;
  function renderSuggestions() {
    const ul = $('saran');
    ul.innerHTML = '';
    suggestions.forEach((s, i) => {
      const li = document.createElement('li');
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', i === active ? 'true' : 'false');
      if (s.maksud) {
        li.className = 'maksud';
        li.append('Maksud Anda: ', Object.assign(document.createElement('b'), { textContent: s.maksud }), '?');
      } else {
        li.dataset.kode = s.kode;
        li.innerHTML = '<span></span><small></small>';
        li.children[0].textContent = fullName(s.jenis, s.nama);
        li.children[1].textContent = [s.kode].concat((s.parents || []).slice().reverse().map((p) => p.nama)).join(' · ');
      }
      li.addEventListener('mousedown', (e) => { e.preventDefault(); choose(i); });
      ul.appendChild(li);
    });
    ul.hidden = suggestions.length === 0;
    $('cari').setAttribute('aria-expanded', suggestions.length ? 'true' : 'false');
  }
  function choose(i) {
    const s = suggestions[i];
    if (!s) return;
    if (s.maksud) {
      // Search again with the name meant.
      $('cari').value = s.maksud;
      search(s.maksud);
      return;
    }
    $('cari').value = s.nama;
    suggestions = [];
    renderSuggestions();
    selectUnit(s.kode);
  }
  async function search(q) {
    if (q.trim().length < 2) { suggestions = []; renderSuggestions(); return; }
    try {
      const r = await api('/api/search?limit=8&q=' + encodeURIComponent(q));
      if ($('cari').value !== q) return;
      suggestions = (r.did_you_mean || []).map((name) => ({ maksud: name })).concat(r.results);
      active = suggestions.length ? 0 : -1;
      $('saran').dataset.q = q;
      renderSuggestions();
      if (!suggestions.length) setStatus('Tidak ada wilayah bernama "' + q + '"');
    } catch (e) {
      showError('Pencarian gagal', e);
    }
  }
  $('cari').addEventListener('input', (e) => {
    clearTimeout(searchTimer);
    const q = e.target.value;
    searchTimer = setTimeout(() => search(q), 200);
  });
  $('cari').addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { active = Math.min(active + 1, suggestions.length - 1); renderSuggestions(); e.preventDefault(); }
    if (e.key === 'ArrowUp') { active = Math.max(active - 1, 0); renderSuggestions(); e.preventDefault(); }
    if (e.key === 'Enter') { choose(active); e.preventDefault(); }
    if (e.key === 'Escape') { suggestions = []; renderSuggestions(); }
  });
  $('cari').addEventListener('blur', () => { suggestions = []; renderSuggestions(); });

  // ---- targeting list -----------------------------------------------------------------
  function targetParams() {
    const p = new URLSearchParams({
      level: state.targetLevel, indicator: state.indicator, top: String(state.top),
    });
    if (state.area && depthOf(state.area) < LIST_DEPTH[state.targetLevel]) p.set('parent', state.area);
    if (state.period) p.set('period', state.period);
    if (isFlow(state.indicator) && state.base) p.set('base', state.base);
    p.set('min_households', String(state.minHouseholds));
    return p;
  }
  async function loadTargets() {
    const p = targetParams();
    const area = p.get('parent');
    // The area by its name, not its code.
    if (area && !unitNames.has(area)) {
      api('/api/regions/' + encodeURIComponent(area)).then((r) => {
        unitNames.set(r.kode, fullName(r.jenis, r.nama));
        if (state.area === area) loadTargets();
      }, () => {});
    }
    $('wilayah-sasaran-teks').textContent = (area ? 'Di dalam ' + (unitNames.get(area) || area) : 'Seluruh wilayah') + ', menurut ' +
      labelOf(state.indicator).toLowerCase() + ' (terbesar dahulu).';
    $('hapus-wilayah-sasaran').hidden = !area;
    const csv = new URLSearchParams(p); csv.set('format', 'csv');
    const xlsx = new URLSearchParams(p); xlsx.set('format', 'xlsx');
    $('unduh-sasaran-csv').href = '/api/targets?' + csv.toString();
    $('unduh-sasaran-xlsx').href = '/api/targets?' + xlsx.toString();
    const exp = new URLSearchParams();
    if (state.period) exp.set('period', state.period);
    if (area) exp.set('parent', area);
    // The layer's units inside the area; where the area is itself of the level shown (a
    // kabupaten selected on the kabupaten map), the units one level below it.
    let exportLevel = shownLevel();
    const depth = { kabupaten: 2, kecamatan: 3, desa: 4 };
    if (area && area.split('.').length >= depth[exportLevel]) {
      exportLevel = LEVELS[Math.min(LEVELS.length - 1, area.split('.').length - 1)];
    }
    $('unduh-geojson').href = '/api/export/' + exportLevel + '.geojson?' + exp.toString();
    let r;
    try {
      r = await api('/api/targets?' + p.toString());
    } catch (e) {
      showError('Daftar sasaran tidak dapat dimuat', e);
      return;
    }
    if (p.toString() !== targetParams().toString()) return;
    const list = $('sasaran');
    list.innerHTML = '';
    // The area the list shown ranks inside.
    list.dataset.wilayah = area || '';
    for (const t of r.targets) {
      const li = document.createElement('li');
      li.innerHTML = '<span></span><span class="nilai"></span>';
      li.children[0].textContent = t.nama + (t.kecamatan ? ' (' + t.kecamatan + ')' : '');
      li.children[1].textContent = format(t.value, kindOf(state.indicator));
      li.dataset.kode = t.kode;
      // The list stays the area's: choosing one of its units does not change it.
      li.addEventListener('click', () => selectUnit(t.kode, { fromList: true }));
      list.appendChild(li);
    }
    if (!r.targets.length) {
      const li = document.createElement('li');
      li.textContent = 'Tidak ada wilayah dengan data.';
      list.appendChild(li);
    }
  }

  // ---- account: login, the user menu, household points and the audit trail --------------
  const ROLE_NAMES = { admin: 'Admin provinsi', operator: 'Operator', analyst: 'Analis', viewer: 'Pembaca' };
  function mayReadHouseholds() { return Boolean(state.session && state.session.households); }
  function purpose() { return $('tujuan').value.trim(); }
  function householdQuery() {
    const p = new URLSearchParams();
    if (state.period) p.set('period', state.period);
    if (state.session && state.session.needs_purpose) p.set('purpose', purpose());
    const q = p.toString();
    return q ? '?' + q : '';
  }
  function householdUrl() {
    return location.origin + '/tiles/households/{z}/{x}/{y}.mvt' + householdQuery();
  }
  function householdsReady() {
    return mayReadHouseholds() && state.showHouseholds && (!state.session.needs_purpose || purpose().length > 0);
  }
  function addHouseholdLayer() {
    removeHouseholdLayer();
    if (!householdsReady()) return;
    map.addSource('rumah-tangga', { type: 'vector', tiles: [householdUrl()], minzoom: 6, maxzoom: 16 });
    map.addLayer({
      id: 'rumah-tangga-kelompok', type: 'circle', source: 'rumah-tangga', 'source-layer': 'households',
      filter: ['==', ['get', 'cluster'], true],
      paint: {
        'circle-color': '#5b2a86', 'circle-opacity': 0.6,
        'circle-radius': ['interpolate', ['linear'], ['get', 'point_count'], 1, 4, 100, 12, 1000, 22],
        'circle-stroke-color': '#fff', 'circle-stroke-width': 1,
      },
    });
    map.addLayer({
      id: 'rumah-tangga-titik', type: 'circle', source: 'rumah-tangga', 'source-layer': 'households',
      filter: ['==', ['get', 'cluster'], false],
      paint: {
        'circle-radius': 4,
        'circle-color': ['match', ['coalesce', ['get', 'desil'], 0], 1, '#7f0000', 2, '#d7301f', 3, '#fc8d59', 4, '#fdcc8a', '#969696'],
        'circle-stroke-color': '#fff', 'circle-stroke-width': 0.8,
      },
    });
  }
  function removeHouseholdLayer() {
    for (const id of ['rumah-tangga-titik', 'rumah-tangga-kelompok']) {
      if (map.getLayer(id)) map.removeLayer(id);
    }
    if (map.getSource('rumah-tangga')) map.removeSource('rumah-tangga');
  }
  function renderSession() {
    const s = state.session;
    $('form-masuk').hidden = Boolean(s);
    $('menu-pengguna').hidden = !s;
    $('kontrol-rumah-tangga').hidden = !mayReadHouseholds();
    $('buka-audit').hidden = !(s && s.admin);
    if (!s) {
      removeHouseholdLayer();
      document.dispatchEvent(new CustomEvent('lentera:sesi', { detail: null }));
      return;
    }
    const scope = s.scope && s.scope.length ? s.scope.join(', ') : (s.role === 'admin' ? 'seluruh wilayah' : '—');
    $('info-pengguna').textContent = `Masuk sebagai ${s.username} · ${ROLE_NAMES[s.role] || s.role} · wilayah: ${scope}`;
    $('baris-tujuan').hidden = !s.needs_purpose;
    $('tampil-rumah-tangga').checked = state.showHouseholds;
    const needsPurpose = s.needs_purpose && !purpose();
    $('tampil-rumah-tangga').disabled = needsPurpose;
    const link = $('unduh-rumah-tangga');
    if (needsPurpose) link.removeAttribute('href'); else link.href = '/api/export/households.csv' + householdQuery();
    link.classList.toggle('nonaktif', needsPurpose);
    $('status-rumah-tangga').textContent = !mayReadHouseholds()
      ? 'Peran ini hanya melihat angka agregat.'
      : needsPurpose
        ? 'Isi tujuan penggunaan data untuk melihat atau mengunduh data rumah tangga.'
        : householdsReady() ? 'Titik rumah tangga di wilayah Anda ditampilkan (dikelompokkan pada perbesaran kecil).' : '';
    if (householdsReady()) { if (!map.getSource('rumah-tangga')) addHouseholdLayer(); } else removeHouseholdLayer();
    document.dispatchEvent(new CustomEvent('lentera:sesi', { detail: s }));
  }
  async function loadSession() {
    try {
      const s = await (await fetch('/api/session', { cache: 'no-store' })).json();
      state.session = s.username ? s : null;
      state.private = Boolean(s.private);
      if (s.suppressed_label) state.suppressedLabel = s.suppressed_label;
    } catch (_) { state.session = null; }
    return state.session;
  }
  $('form-masuk').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('status-masuk').textContent = 'Memeriksa…';
    const r = await fetch('/api/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: $('nama-pengguna').value.trim(), password: $('kata-sandi').value }),
    });
    $('kata-sandi').value = '';
    if (!r.ok) {
      $('status-masuk').textContent = r.status === 429
        ? 'Terlalu banyak percobaan dari alamat ini. Coba lagi 15 menit lagi.'
        : r.status === 403
          ? 'Akun dikunci sementara karena terlalu banyak percobaan gagal. Hubungi admin.'
          : 'Nama pengguna atau kata sandi salah.';
      return;
    }
    $('status-masuk').textContent = '';
    // A private server shows nothing before login: start the page again with the session.
    if (state.private) { location.reload(); return; }
    await loadSession();
    renderSession();
    // Logged-in users see exact small counts: draw the figures again.
    refreshFigures();
  });
  $('keluar').addEventListener('click', async () => {
    // Household tiles stop before the session ends, and the next user starts without this
    // one's purpose.
    removeHouseholdLayer();
    $('tujuan').value = '';
    await Promise.allSettled([...userRequests]);
    await fetch('/api/session', { method: 'DELETE', headers: { 'X-CSRF-Token': (state.session && state.session.csrf) || '' } });
    state.session = null;
    if (state.private) { location.reload(); return; }
    renderSession();
    refreshFigures();
  });
  $('tujuan').addEventListener('change', () => { removeHouseholdLayer(); renderSession(); });
  $('tampil-rumah-tangga').addEventListener('change', (e) => { state.showHouseholds = e.target.checked; renderSession(); });
  function refreshFigures() {
    // Figures differ per reader (small counts): reload the unit layers, classes and panels.
    for (const k of Object.keys(applied)) delete applied[k];
    for (const l of LEVELS) {
      const src = map.getSource(l);
      if (src && src.setTiles) src.setTiles([tileUrl(l)]);
    }
    showChoropleth();
    loadTargets();
    if (state.selected) selectUnit(state.selected, { zoom: false });
  }
  // Another script's figure shown on the map (a programme's coverage): named in the legend and
  // the indicator list, then shown for `period` like any indicator.
  function showFigure(name, label, kind, period) {
    FIELDS.set(name, { name, label, kind });
    const ind = $('indikator');
    if (![...ind.options].some((o) => o.value === name)) ind.add(new Option(label, name));
    ind.value = name;
    if (period && [...$('periode').options].some((o) => o.value === period)) $('periode').value = period;
    $('pembanding').value = '';
    onControlChange();
  }
  Object.assign(lentera, { api, setStatus, showError, refreshFigures, showFigure });
  const ACTION_NAMES = {
    household_read: 'akses data RT', login: 'masuk', login_failed: 'gagal masuk', logout: 'keluar',
    batch_import: 'impor', batch_remove: 'hapus batch', batch_correct: 'koreksi', user_add: 'pengguna baru',
    batch_submit: 'batch diserahkan', batch_accept: 'batch diterima', batch_return: 'batch dikembalikan',
    round_open: 'putaran dibuka', round_close: 'putaran ditutup',
    program_add: 'program baru', program_remove: 'program dihapus', program_list: 'daftar penerima diunggah',
    target_save: 'daftar sasaran disimpan',
    user_change: 'ubah pengguna', token_create: 'token baru', token_revoke: 'token dicabut',
  };
  async function loadAudit() {
    const p = new URLSearchParams({ limit: '5000' });
    if ($('audit-tindakan').value) p.set('action', $('audit-tindakan').value);
    if ($('audit-pengguna').value.trim()) p.set('user', $('audit-pengguna').value.trim());
    const body = $('audit-baris');
    body.replaceChildren();
    let rows = [];
    try { rows = await api('/api/audit?' + p.toString()); } catch (e) { showError('Jejak audit', e); return; }
    for (const r of rows.slice(-300).reverse()) {
      const tr = document.createElement('tr');
      // Tile reads of one user share a record listing every tile: shown as a count.
      const tiles = r.endpoint.includes('/tiles/') ? r.params.split(' ').length : 0;
      const access = tiles ? r.endpoint + ' · ' + angka.format(tiles) + ' ubin' : (r.endpoint + ' ' + r.params).trim();
      const when = new Date(r.at);
      for (const v of [Number.isNaN(when.getTime()) ? r.at : when.toLocaleString('id-ID'), r.actor || r.client, ROLE_NAMES[r.role] || r.role || '—',
        ACTION_NAMES[r.action] || r.action, access, r.count == null ? '' : angka.format(r.count),
        r.purpose || '', r.client, r.detail === 'ok' ? 'berhasil' : r.detail]) {
        const td = document.createElement('td');
        td.textContent = v;
        tr.appendChild(td);
      }
      tr.children[4].title = (r.endpoint + ' ' + r.params).trim();
      body.appendChild(tr);
    }
  }
  $('buka-audit').addEventListener('click', () => { $('audit').showModal(); loadAudit(); });
  $('audit-tindakan').addEventListener('change', loadAudit);
  $('audit-pengguna').addEventListener('change', loadAudit);

  // ---- optional online base map ---------------------------------------------------------
  $('peta-dasar').addEventListener('change', (e) => {
    if (e.target.checked) {
      map.addSource('osm', {
        type: 'raster', tileSize: 256, maxzoom: 19,
        tiles: ['https://tile.openstreetmap.org/{z}/{x}/{y}.png'],
        attribution: '© kontributor OpenStreetMap',
      });
      map.addLayer({ id: 'osm', type: 'raster', source: 'osm' }, LEVELS[0] + '-isi');
      for (const l of LEVELS) map.setPaintProperty(l + '-isi', 'fill-opacity', 0.6);
    } else {
      if ($('status').textContent.startsWith('Peta dasar')) setStatus('');
      if (map.getLayer('osm')) map.removeLayer('osm');
      if (map.getSource('osm')) map.removeSource('osm');
      for (const l of LEVELS) map.setPaintProperty(l + '-isi', 'fill-opacity', 0.85);
    }
  });

  // ---- controls -----------------------------------------------------------------------
  function fillControls(periods) {
    const ind = $('indikator');
    for (const [field, label] of INDICATORS) ind.add(new Option(label, field));
    if (FLOWS.length && periods.length > 1) {
      const group = document.createElement('optgroup');
      group.label = 'Perubahan rumah tangga (dengan pembanding)';
      for (const f of FLOWS) group.appendChild(new Option(f.label, f.name));
      ind.appendChild(group);
    }
    ind.value = state.indicator;
    $('tingkat').value = state.level;
    $('metode').value = state.method;
    $('kelas').value = String(state.classes);
    $('tingkat-sasaran').value = state.targetLevel;
    $('jumlah-sasaran').value = String(state.top);
    $('min-rt').value = String(state.minHouseholds);
    const per = $('periode');
    const base = $('pembanding');
    for (const p of periods) {
      const option = new Option(p.period, p.period);
      option.title = angka.format(p.households) + ' rumah tangga';
      per.add(option);
      base.add(new Option(p.period, p.period));
    }
    if (!periods.length) per.add(new Option('Belum ada data rumah tangga', ''));
    if (!state.period && periods.length) state.period = periods[periods.length - 1].period;
    per.value = state.period;
    base.value = state.base;
    // The archive's tiles carry the figures of its own period only.
    per.disabled = Boolean(state.archive);
  }
  function onControlChange() {
    const periodBefore = state.period;
    state.indicator = $('indikator').value;
    state.level = $('tingkat').value;
    state.method = $('metode').value;
    state.classes = Number($('kelas').value);
    state.period = $('periode').value;
    state.base = $('pembanding').value === state.period ? '' : $('pembanding').value;
    // A flow of households is always between two periods: without a base, the period
    // before the one shown.
    if (isFlow(state.indicator) && !state.base) {
      const earlier = [...$('periode').options].map((o) => o.value).filter((p) => p && p < state.period);
      state.base = earlier.length ? earlier[earlier.length - 1] : '';
      if (!state.base) state.indicator = INDICATORS[0][0];
    }
    $('pembanding').value = state.base;
    $('indikator').value = state.indicator;
    state.targetLevel = $('tingkat-sasaran').value;
    state.top = Math.max(1, Math.min(500, Number($('jumlah-sasaran').value) || 10));
    state.minHouseholds = Number($('min-rt').value) || 0;
    saveUrl();
    if (state.period !== periodBefore) {
      for (const l of LEVELS) map.getSource(l).setTiles([tileUrl(l)]);
    }
    showChoropleth();
    loadTargets();
    if (state.selected) selectUnit(state.selected, { zoom: false });
    else renderHeadline(null);
    if (map.getSource('rumah-tangga')) addHouseholdLayer();
  }
  for (const id of ['indikator', 'tingkat', 'metode', 'kelas', 'periode', 'pembanding', 'tingkat-sasaran', 'jumlah-sasaran', 'min-rt']) {
    $(id).addEventListener('change', onControlChange);
  }
  function closePanel() {
    $('panel').hidden = true;
    state.selected = '';
    for (const l of LEVELS) map.setFilter(l + '-pilih', ['==', ['get', 'kode'], '']);
    saveUrl();
    loadTargets();
    renderHeadline(null);
  }
  $('tutup-panel').addEventListener('click', closePanel);
  // Esc closes the unit's panel (not while typing in a field, where Esc has its own use).
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || $('panel').hidden) return;
    const t = e.target;
    if (t && ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName)) return;
    closePanel();
  });

  $('hapus-wilayah-sasaran').addEventListener('click', (e) => {
    e.preventDefault();
    state.area = '';
    saveUrl();
    loadTargets();
  });

  // ---- the controls as a bottom sheet on a phone ----------------------------------------
  const sheet = document.querySelector('.sisi');
  function closeSheet() {
    sheet.classList.remove('terbuka');
    $('buka-pengaturan').setAttribute('aria-expanded', 'false');
  }
  $('buka-pengaturan').addEventListener('click', () => {
    const open = sheet.classList.toggle('terbuka');
    $('buka-pengaturan').setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open) sheet.scrollTop = 0;
  });

  // ---- "Buka di QGIS": this server's OGC API address to copy ------------------------------
  $('url-ogc').value = location.origin + '/ogc';
  $('salin-ogc').addEventListener('click', async () => {
    const field = $('url-ogc');
    let copied = false;
    try {
      await navigator.clipboard.writeText(field.value);
      copied = true;
    } catch (_) {
      // Without the clipboard API (plain http on another host): select it for Ctrl+C.
      field.select();
      try { copied = document.execCommand('copy'); } catch (_) { copied = false; }
    }
    $('status-salin').textContent = copied ? 'Alamat disalin.' : 'Alamat dipilih: tekan Ctrl+C untuk menyalin.';
  });

  // ---- start --------------------------------------------------------------------------
  // The server's state and the tile descriptions are asked for while MapLibre starts.
  // A private server answers nothing before login: the session is asked for first.
  const boot = loadSession().then((s) => {
    if (state.private && !s) throw new Error('PRIVATE');
    return Promise.all([
      api('/healthz'), api('/api/periods'), api('/api/fields'),
      ...(state.archive ? openArchive() : LEVELS.map((l) => api('/tiles/' + l + '.json'))),
    ]);
  });
  // Opens the PMTiles archive: MapLibre reads its tiles through the `pmtiles://` protocol, and
  // its metadata stands in for the server's TileJSON (and sets the period shown).
  function openArchive() {
    if (typeof pmtiles === 'undefined') {
      return [Promise.reject(new Error('pustaka pmtiles tidak termuat (jalankan npm ci di web/)'))];
    }
    const url = new URL(state.archive, location.href).href;
    const protocol = new pmtiles.Protocol();
    maplibregl.addProtocol('pmtiles', protocol.tile);
    const archive = new pmtiles.PMTiles(url);
    protocol.add(archive);
    const described = Promise.all([archive.getHeader(), archive.getMetadata()]).then(([h, m]) => {
      if (m['lentera:period']) state.period = m['lentera:period'];
      lentera.archive = { header: h, metadata: m };
      return { header: h, metadata: m };
    });
    return LEVELS.map((level) => described.then(({ header, metadata }) => {
      const layer = (metadata.vector_layers || []).find((l) => l.id === level);
      if (!layer) throw new Error('arsip PMTiles tidak memuat lapisan ' + level);
      return {
        minzoom: layer.minzoom, maxzoom: Math.min(layer.maxzoom, header.maxZoom),
        bounds: [header.minLon, header.minLat, header.maxLon, header.maxLat],
      };
    }));
  }
  boot.then(([, periods, fields]) => {
    setFields(fields.fields, fields.flows);
    mark('data');
    // The first view of the whole province shows kabupaten/kota: ask for its classes now.
    if (!state.period && periods.length) state.period = periods[periods.length - 1].period;
    if (!urlHasPosition && ['otomatis', 'kabupaten'].includes(state.level)) {
      const url = choroplethUrl('kabupaten');
      const answer = api(url);
      answer.catch(() => {});
      prefetched.set(url, answer);
    }
  }).catch(() => {});
  // Failures in words, without the browser's raw error: the optional base map needs the
  // internet and says so; anything else is a part of the map this server did not deliver.
  map.on('error', (e) => {
    if (e && e.sourceId === 'osm') {
      setStatus('Peta dasar OpenStreetMap tidak dapat dimuat: perangkat ini tampaknya tidak terhubung ke internet. ' +
        'Peta kemiskinan tetap dapat dipakai tanpa peta dasar.', true);
      return;
    }
    // Not a source's tile: a fault of the page itself, for its developers' console.
    if (!e || !e.sourceId) console.error('MapLibre:', e && e.error ? e.error.message : e);
    setStatus('Sebagian peta gagal dimuat dari server. Periksa sambungan, lalu muat ulang halaman.', true);
  });
  map.on('load', async () => {
    mark('map');
    let health, periods, tilejsons;
    try {
      [health, periods, , ...tilejsons] = await boot;
    } catch (e) {
      if (e.message === 'PRIVATE') {
        setStatus('Server ini tertutup untuk umum: masuk dengan akun Anda.');
        renderSession();
        $('nama-pengguna').focus();
        return;
      }
      showError(state.archive ? 'Arsip PMTiles tidak dapat dibuka' : 'Server tidak dapat dihubungi', e);
      return;
    }
    $('label-sintetis').hidden = health.dataset !== 'synthetic';
    if (!health.regions || !Object.values(health.regions).some((n) => n > 0)) {
      setStatus('Belum ada batas wilayah di server: impor dulu dengan "lentera regions import".', true);
      return;
    }
    fillControls(periods);
    addBoundaryLayers(tilejsons, await fontsReady);
    mark('layers');
    for (const l of LEVELS) {
      map.on('mousemove', l + '-isi', onHover);
      map.on('mouseleave', l + '-isi', onLeave);
      map.on('click', l + '-isi', (e) => {
        // While a household is being placed on the map, a click is its point, not a unit.
        if (lentera.placing) return;
        const f = e.features && e.features[0];
        if (f) selectUnit(f.properties.kode);
      });
    }
    map.on('movestart', onLeave);
    map.on('zoomend', () => {
      if (state.level === 'otomatis') showChoropleth();
      else if ($('status').textContent.startsWith('Batas ')) { setStatus(''); zoomHint(state.level); }
    });
    if (!urlHasPosition && tilejsons[0].bounds) {
      const b = tilejsons[0].bounds;
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 20, duration: 0 });
    }
    saveUrl();
    await showChoropleth();
    if (state.archive) {
      $('label-arsip').textContent = 'Batas wilayah dan angka peta dari arsip PMTiles ' + state.archive.split('/').pop() + ' (periode ' + state.period + ')';
      $('label-arsip').hidden = false;
    }
    loadTargets();
    if (state.selected) selectUnit(state.selected, { zoom: false });
    else renderHeadline(null);
    renderSession();
  });
})();
