/* IzzyViz explorer: zoom and pan one attention map from its tile pyramid, read any cell's
   query token, key token, positions and value. Plain JavaScript with no dependencies: it runs
   from file:// with the tiles inside the page, or from `izzyviz serve`, which cuts them on demand.
   Only the tiles of the level on screen that lie in the view are decoded; a cell's value is
   read from the finest level's value tile, fetched when that tile is hovered. */
(function () {
  "use strict";
  const script = document.currentScript;
  const root = script.parentNode.closest(".izv");
  const meta = JSON.parse(root.querySelector(".izv-meta").textContent);
  const tileData = root.querySelector(".izv-tiles");
  const embedded = tileData ? JSON.parse(tileData.textContent) : null;
  const T = meta.tile, R = meta.rows, C = meta.cols, K = meta.levels - 1;
  const LEFT = 132, TOP = 112, LABEL_FONT = 11, LABEL_PITCH = 12, MAX_SCALE = 64;
  const HIGHLIGHT = "#cde699", PICKED = "#ffcf8f", RING = "#d95400";
  const $ = (name) => root.querySelector(".izv-" + name);
  const view = $("view"), canvas = $("canvas"), tip = $("tip"), status = $("status");
  const ctx = canvas.getContext("2d");
  const topRows = new Set(meta.top.map((t) => t[0])), topCols = new Set(meta.top.map((t) => t[1]));
  const boldRows = new Set(meta.bold_y), boldCols = new Set(meta.bold_x);
  const picked = { rows: new Set(), cols: new Set() };
  const found = { rows: [], cols: [], at: -1, query: "" };
  let W = 0, H = 0, dpr = 1, s = 1, ox = 0, oy = 0, fitScale = 1;
  let hover = null, pending = false, frame = 0, firstPaint = false, lastInput = 0;
  const loaded = [];

  // -- tiles --------------------------------------------------------------------------------
  const tiles = new Map();
  function tile(level, ty, tx, load) {
    const key = level + "/" + ty + "/" + tx;
    let entry = tiles.get(key);
    if (!entry && load) {
      entry = { img: new Image(), ready: false, used: frame };
      tiles.set(key, entry);
      loaded.push(key);
      entry.img.src = embedded
        ? "data:image/png;base64," + embedded[key]
        : meta.base + "tile/" + key + ".png";
      entry.img.decode().then(() => { entry.ready = true; schedule(); }, () => {
        entry.failed = true;
        status.textContent = "a tile could not be loaded (" + key + ")";
      });
      evict();
    }
    if (entry) entry.used = frame;
    return entry;
  }
  function evict() {
    if (tiles.size <= 600) return;
    const old = [...tiles].filter(([, e]) => e.used < frame).sort((a, b) => a[1].used - b[1].used);
    for (const [key] of old.slice(0, tiles.size - 400)) tiles.delete(key);
  }
  function levelSize(level) {
    const f = 2 ** level;
    return [Math.ceil(R / f), Math.ceil(C / f)];
  }
  function currentLevel() {
    const device = s * dpr;
    if (device >= 1 - 1e-9) return 0;
    return Math.min(K, Math.ceil(Math.log2(1 / device) - 1e-9));
  }

  // -- values of the finest level -------------------------------------------------------------
  const HALVES = new Float64Array(0x7c00);
  function half(bits) {
    const e = (bits >> 10) & 31, m = bits & 1023, sign = bits & 0x8000 ? -1 : 1;
    if (e === 0) return sign * m * 2 ** -24;
    if (e === 31) return m ? NaN : sign * Infinity;
    return sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  function nearestHalf(x) {
    if (!HALVES[1]) for (let i = 0; i < HALVES.length; i++) HALVES[i] = half(i);
    const a = Math.abs(x);
    if (a >= 65520) return Math.sign(x) * Infinity;
    let lo = 0, hi = HALVES.length - 1;
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (HALVES[mid] <= a) lo = mid; else hi = mid; }
    const dl = a - HALVES[lo], dh = HALVES[hi] - a;
    const i = dl < dh || (dl === dh && lo % 2 === 0) ? lo : hi;
    return Math.sign(x) * HALVES[i];
  }
  const rounded = meta.values === "float16" ? nearestHalf : Math.fround;
  function exact(v) {
    if (Number.isNaN(v)) return "masked (no data)";
    for (let p = 1; p <= 9; p++) {
      const text = v.toPrecision(p);
      if (rounded(Number(text)) === v) return String(Number(text));
    }
    return String(v);
  }
  const valueTiles = new Map();
  function valueTile(ty, tx) {
    const key = ty + "/" + tx;
    if (!valueTiles.has(key)) {
      valueTiles.set(key, readValues(ty, tx));
      if (valueTiles.size > 16) valueTiles.delete(valueTiles.keys().next().value);
    }
    return valueTiles.get(key);
  }
  async function readValues(ty, tx) {
    let bytes;
    if (embedded) {
      bytes = Uint8Array.from(atob(embedded["v/" + ty + "/" + tx]), (c) => c.charCodeAt(0));
    } else {
      const reply = await fetch(meta.base + "values/" + ty + "/" + tx + ".bin");
      if (!reply.ok) throw new Error("values " + ty + "/" + tx + ": " + reply.status);
      bytes = new Uint8Array(await reply.arrayBuffer());
    }
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    const planes = new Uint8Array(await new Response(stream).arrayBuffer());
    const h = Math.min(T, R - ty * T), w = Math.min(T, C - tx * T), n = h * w;
    if (meta.values === "float16") return { w, get: (i) => half(planes[i] | (planes[n + i] << 8)) };
    const word = new Uint32Array(1), float = new Float32Array(word.buffer);
    return { w, get: (i) => {
      word[0] = planes[i] | (planes[n + i] << 8) | (planes[2 * n + i] << 16) | (planes[3 * n + i] << 24);
      return float[0];
    } };
  }
  /* The pixel of the level on screen under cell (r, c): its cells, and the value the figure
     pooled them to (max or mean) with, for max, the cell that holds it. */
  async function readBlock(r, c, level) {
    const f = 2 ** level, r0 = r - (r % f), c0 = c - (c % f);
    const r1 = Math.min(R, r0 + f), c1 = Math.min(C, c0 + f);
    const values = await valueTile(Math.floor(r / T), Math.floor(c / T));
    const or = Math.floor(r / T) * T, oc = Math.floor(c / T) * T;
    let best = -Infinity, at = null, sum = 0, count = 0;
    for (let i = r0; i < r1; i++) {
      for (let j = c0; j < c1; j++) {
        const v = values.get((i - or) * values.w + (j - oc));
        if (Number.isNaN(v)) continue;
        sum += v; count++;
        if (v > best) { best = v; at = [i, j]; }
      }
    }
    const single = values.get((r - or) * values.w + (c - oc));
    return { f, r0, r1, c0, c1, at, best, mean: count ? sum / count : NaN, single };
  }

  // -- the view ------------------------------------------------------------------------------
  const mapW = () => Math.max(10, W - LEFT - 8), mapH = () => Math.max(10, H - TOP - 8);
  function clamp() {
    s = Math.min(MAX_SCALE, Math.max(fitScale, s));
    const spanX = mapW() / s, spanY = mapH() / s;
    ox = C <= spanX ? 0 : Math.min(C - spanX, Math.max(0, ox));
    oy = R <= spanY ? 0 : Math.min(R - spanY, Math.max(0, oy));
  }
  function fit() {
    fitScale = Math.min(mapW() / C, mapH() / R);
    s = fitScale; ox = 0; oy = 0;
    schedule();
  }
  function zoomAt(x, y, factor) {
    const cx = ox + x / s, cy = oy + y / s;
    s *= factor;
    clamp();
    ox = cx - x / s; oy = cy - y / s;
    clamp();
    lastInput = performance.now();
    schedule();
  }
  function centreOn(r, c, scale) {
    s = Math.max(s, scale);
    clamp();
    ox = c + 0.5 - mapW() / s / 2; oy = r + 0.5 - mapH() / s / 2;
    clamp();
    lastInput = performance.now();
    schedule();
  }
  const cellAt = (x, y) => [Math.floor(oy + (y - TOP) / s), Math.floor(ox + (x - LEFT) / s)];
  const screenX = (c) => LEFT + (c - ox) * s, screenY = (r) => TOP + (r - oy) * s;
  function schedule() {
    if (!pending) { pending = true; requestAnimationFrame(draw); }
  }

  // -- drawing -------------------------------------------------------------------------------
  function draw() {
    pending = false;
    frame++;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const level = currentLevel(), complete = drawTiles(level);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.save();
    ctx.beginPath();
    ctx.rect(LEFT, TOP, Math.min(mapW(), (C - ox) * s), Math.min(mapH(), (R - oy) * s));
    ctx.clip();
    drawMarks();
    ctx.restore();
    drawAxes();
    const [r0, c0] = cellAt(LEFT, TOP), [r1, c1] = cellAt(LEFT + mapW(), TOP + mapH());
    $("note").textContent = meta.notes[level] + " · rows " + Math.max(0, r0) + "–" +
      (Math.min(R, r1 + 1) - 1) + ", columns " + Math.max(0, c0) + "–" + (Math.min(C, c1 + 1) - 1);
    status.textContent = "zoom " + (s / fitScale).toFixed(s / fitScale < 10 ? 1 : 0) + "×";
    if (complete) painted();
  }
  function painted() {
    const now = performance.now();
    if (!firstPaint) {
      firstPaint = true;
      root.dataset.firstPaint = now.toFixed(1);
    }
    if (lastInput) { root.dataset.step = (now - lastInput).toFixed(1); lastInput = 0; }
    root.dataset.complete = now.toFixed(1);
  }
  function drawTiles(level) {
    const f = 2 ** level, [h, w] = levelSize(level);
    const tx0 = Math.max(0, Math.floor(ox / f / T)), ty0 = Math.max(0, Math.floor(oy / f / T));
    const tx1 = Math.min(Math.ceil(w / T), Math.ceil((ox + mapW() / s) / f / T));
    const ty1 = Math.min(Math.ceil(h / T), Math.ceil((oy + mapH() / s) / f / T));
    ctx.save();
    ctx.beginPath();
    ctx.rect(LEFT * dpr, TOP * dpr, Math.min(mapW(), (C - ox) * s) * dpr,
      Math.min(mapH(), (R - oy) * s) * dpr);
    ctx.clip();
    ctx.imageSmoothingEnabled = false;
    const ready = [], cover = new Set();
    let waiting = 0;
    for (let ty = ty0; ty < ty1; ty++) {
      for (let tx = tx0; tx < tx1; tx++) {
        const entry = tile(level, ty, tx, true);
        if (entry.ready) ready.push([level, ty, tx, entry.img]);
        else { waiting++; coarser(level, ty, tx, cover); }
      }
    }
    const under = [...cover].map((key) => key.split("/").map(Number));
    under.sort((a, b) => b[0] - a[0]);
    for (const [l, ty, tx] of under) place(l, ty, tx, tiles.get(l + "/" + ty + "/" + tx).img);
    for (const [l, ty, tx, img] of ready) place(l, ty, tx, img);
    ctx.restore();
    return waiting === 0;
  }
  function coarser(level, ty, tx, cover) {
    for (let l = level + 1; l <= K; l++) {
      const shift = l - level, key = l + "/" + (ty >> shift) + "/" + (tx >> shift);
      const entry = tiles.get(key);
      if (entry && entry.ready) { cover.add(key); entry.used = frame; return; }
    }
  }
  function place(level, ty, tx, img) {
    const f = 2 ** level;
    const x0 = Math.round((LEFT + (tx * T * f - ox) * s) * dpr);
    const y0 = Math.round((TOP + (ty * T * f - oy) * s) * dpr);
    const x1 = Math.round((LEFT + ((tx * T + img.naturalWidth) * f - ox) * s) * dpr);
    const y1 = Math.round((TOP + ((ty * T + img.naturalHeight) * f - oy) * s) * dpr);
    ctx.drawImage(img, x0, y0, x1 - x0, y1 - y0);
  }
  function band(r, vertical, colour) {
    ctx.fillStyle = colour;
    if (vertical) ctx.fillRect(screenX(r), TOP, Math.max(s, 1), mapH());
    else ctx.fillRect(LEFT, screenY(r), mapW(), Math.max(s, 1));
  }
  function drawMarks() {
    const shade = "rgba(255, 140, 0, 0.28)";
    for (const r of picked.rows) band(r, false, shade);
    for (const c of picked.cols) band(c, true, shade);
    for (const r of found.rows) band(r, false, shade);
    for (const c of found.cols) band(c, true, shade);
    ctx.lineWidth = 2;
    ctx.strokeStyle = meta.region_color;
    for (const [r0, c0, r1, c1] of meta.regions) {
      ctx.strokeRect(screenX(c0), screenY(r0), (c1 + 1 - c0) * s, (r1 + 1 - r0) * s);
    }
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = RING;
    for (const [r, c] of meta.top.slice(0, meta.rings)) {
      ctx.beginPath();
      ctx.arc(screenX(c + 0.5), screenY(r + 0.5), Math.max(5, s * 0.75), 0, 2 * Math.PI);
      ctx.stroke();
    }
    if (hover && hover.block) {
      const b = hover.block;
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 1;
      ctx.strokeRect(screenX(b.c0), screenY(b.r0), Math.max(2, (b.c1 - b.c0) * s),
        Math.max(2, (b.r1 - b.r0) * s));
    }
  }
  const fitted = new Map();
  function fitLabel(text, bold, room) {
    const key = (bold ? "b" : "n") + room + text;
    if (fitted.has(key)) return fitted.get(key);
    let shown = text;
    if (ctx.measureText(shown).width > room) {
      while (shown.length > 1 && ctx.measureText(shown + "…").width > room) shown = shown.slice(0, -1);
      shown += "…";
    }
    if (fitted.size > 20000) fitted.clear();
    fitted.set(key, shown);
    return shown;
  }
  function niceStep(cells) {
    for (let p = 1; ; p *= 10) for (const m of [1, 2, 5]) if (m * p >= cells) return m * p;
  }
  function drawAxis(vertical) {
    const count = vertical ? C : R, origin = vertical ? ox : oy, span = (vertical ? mapW() : mapH()) / s;
    const first = Math.max(0, Math.floor(origin)), last = Math.min(count, Math.ceil(origin + span));
    const labels = vertical ? meta.x_labels : meta.y_labels, bold = vertical ? boldCols : boldRows;
    const marked = vertical ? topCols : topRows, mine = vertical ? picked.cols : picked.rows;
    const hits = new Set(vertical ? found.cols : found.rows);
    const at = (i) => (vertical ? screenX(i) : screenY(i));
    ctx.fillStyle = "#222";
    ctx.strokeStyle = "#222";
    ctx.lineWidth = 0.8;
    const room = (vertical ? TOP : LEFT) - 26;
    const each = s >= LABEL_PITCH;
    const step = each ? 1 : niceStep(48 / s);
    for (let i = Math.ceil(first / step) * step; i < last; i += step) {
      const middle = at(i + (each ? 0.5 : 0));
      if (middle < (vertical ? LEFT : TOP) + 3) continue;  // a cell cut by the axis
      ctx.save();
      if (vertical) { ctx.translate(middle, TOP); ctx.rotate(-Math.PI / 2); }
      else ctx.translate(LEFT, middle);
      ctx.beginPath(); ctx.moveTo(vertical ? 0 : -5, 0); ctx.lineTo(vertical ? 5 : 0, 0); ctx.stroke();
      const isBold = each && bold.has(i);
      ctx.font = (isBold ? "bold " : "") + (each ? LABEL_FONT : 10) + "px 'DejaVu Sans', Verdana, sans-serif";
      const text = each ? fitLabel(labels[i], isBold, room) : String(i);
      const width = ctx.measureText(text).width, x = vertical ? 8 : -8 - width;
      const back = mine.has(i) || hits.has(i) ? PICKED : each && marked.has(i) ? HIGHLIGHT : null;
      if (back) { ctx.fillStyle = back; ctx.fillRect(x - 2, -7, width + 4, 14); ctx.fillStyle = "#222"; }
      ctx.textBaseline = "middle";
      ctx.fillText(text, x, 0.5);
      ctx.restore();
    }
  }
  function drawAxes() {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, LEFT, H);
    ctx.fillRect(0, 0, W, TOP);
    drawAxis(false);
    drawAxis(true);
    ctx.fillStyle = "#222";
    ctx.font = "12px 'DejaVu Sans', Verdana, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    if (meta.xlabel) ctx.fillText(meta.xlabel, LEFT + mapW() / 2, 3);
    if (meta.ylabel) {
      ctx.save(); ctx.translate(3, TOP + mapH() / 2); ctx.rotate(-Math.PI / 2);
      ctx.fillText(meta.ylabel, 0, 0); ctx.restore();
    }
    ctx.textAlign = "start";
  }

  // -- hover ---------------------------------------------------------------------------------
  function line(parent, key, text, cls) {
    const row = document.createElement("div");
    const k = document.createElement("span");
    k.className = "izv-k"; k.textContent = key;
    row.append(k, document.createTextNode(" " + text[0] + " "));
    if (text.length > 1) {
      const token = document.createElement("span");
      token.className = cls || "izv-tok"; token.textContent = text[1];
      row.append(token);
    }
    parent.append(row);
  }
  function describe(r, c, block) {
    tip.replaceChildren();
    if (block && block.f > 1) {
      const pool = document.createElement("div");
      pool.className = "izv-pool";
      pool.textContent = meta.pool + " of " + (block.r1 - block.r0) + " × " + (block.c1 - block.c0) +
        " cells: rows " + block.r0 + "–" + (block.r1 - 1) + ", columns " + block.c0 + "–" + (block.c1 - 1);
      tip.append(pool);
      if (meta.pool === "max" && block.at) [r, c] = block.at;
    }
    line(tip, "query", [String(r), "“" + meta.y_labels[r] + "”"]);
    line(tip, "key", [String(c), "“" + meta.x_labels[c] + "”"]);
    let value = "…";
    if (block && block.f === 1) value = exact(block.single);
    else if (block && meta.pool === "max") value = block.at ? exact(block.best) : exact(NaN);
    else if (block) value = "mean " + (Number.isNaN(block.mean) ? "(no data)" : block.mean.toPrecision(4));
    else if (2 ** currentLevel() > T) value = "zoom in to read values";
    line(tip, "value", [value]);
  }
  function showTip(x, y) {
    tip.hidden = false;
    const w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = (x + 16 + w > W ? Math.max(0, x - 12 - w) : x + 16) + "px";
    tip.style.top = (y + 16 + h > H ? Math.max(0, y - 12 - h) : y + 16) + "px";
  }
  function hoverAt(x, y) {
    const [r, c] = cellAt(x, y);
    if (x < LEFT || y < TOP || r < 0 || c < 0 || r >= R || c >= C || x > LEFT + mapW() || y > TOP + mapH()) {
      tip.hidden = true; hover = null; schedule();
      return;
    }
    const level = currentLevel(), mine = { r, c, x, y, level, block: null };
    hover = mine;
    describe(r, c, null);
    showTip(x, y);
    if (2 ** level > T) return;
    readBlock(r, c, level).then((block) => {
      if (hover !== mine) return;
      mine.block = block;
      describe(r, c, block);
      showTip(x, y);
      schedule();
    }, (error) => { tip.textContent = String(error); });
  }

  // -- input ---------------------------------------------------------------------------------
  const pointers = new Map();
  let press = null;
  const local = (e) => { const box = canvas.getBoundingClientRect(); return [e.clientX - box.left, e.clientY - box.top]; };
  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, local(e));
    press = { at: local(e), moved: false };
    root.focus({ preventScroll: true });
  });
  canvas.addEventListener("pointermove", (e) => {
    const [x, y] = local(e);
    if (!pointers.has(e.pointerId)) { hoverAt(x, y); return; }
    const [px, py] = pointers.get(e.pointerId);
    if (pointers.size === 2) {
      const other = [...pointers].find(([id]) => id !== e.pointerId)[1];
      const before = Math.hypot(px - other[0], py - other[1]), after = Math.hypot(x - other[0], y - other[1]);
      if (before > 0) zoomAt((x + other[0]) / 2 - LEFT, (y + other[1]) / 2 - TOP, after / before);
    } else {
      ox -= (x - px) / s; oy -= (y - py) / s;
      clamp();
      schedule();
    }
    pointers.set(e.pointerId, [x, y]);
    if (press && Math.hypot(x - press.at[0], y - press.at[1]) > 3) {
      press.moved = true;
      canvas.classList.add("izv-dragging");
      tip.hidden = true;
    }
  });
  function release(e) {
    pointers.delete(e.pointerId);
    canvas.classList.remove("izv-dragging");
    if (press && !press.moved && e.type === "pointerup") clickAt(...press.at);
    press = null;
  }
  canvas.addEventListener("pointerup", release);
  canvas.addEventListener("pointercancel", release);
  canvas.addEventListener("pointerleave", () => { if (!pointers.size) { tip.hidden = true; hover = null; schedule(); } });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const [x, y] = local(e), unit = e.deltaMode === 1 ? 0.05 : 0.002;
    zoomAt(Math.max(0, x - LEFT), Math.max(0, y - TOP), Math.exp(-e.deltaY * unit));
  }, { passive: false });
  function toggle(set, i) { if (set.has(i)) set.delete(i); else set.add(i); schedule(); }
  function clickAt(x, y) {
    const [r, c] = cellAt(x, y);
    if (x < LEFT && y > TOP && r >= 0 && r < R) toggle(picked.rows, r);
    else if (y < TOP && x > LEFT && c >= 0 && c < C) toggle(picked.cols, c);
  }
  /* The middle of the map as shown (a whole map may be narrower than the view). */
  const middle = () => [Math.min(mapW(), (C - ox) * s) / 2, Math.min(mapH(), (R - oy) * s) / 2];
  root.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT") return;
    const [x, y] = middle(), step = 0.25;
    const keys = {
      "+": () => zoomAt(x, y, 2), "=": () => zoomAt(x, y, 2), "-": () => zoomAt(x, y, 0.5),
      "_": () => zoomAt(x, y, 0.5), "0": fit,
      ArrowLeft: () => { ox -= (mapW() / s) * step; }, ArrowRight: () => { ox += (mapW() / s) * step; },
      ArrowUp: () => { oy -= (mapH() / s) * step; }, ArrowDown: () => { oy += (mapH() / s) * step; },
      Escape: () => { picked.rows.clear(); picked.cols.clear(); search(""); },
    };
    if (!keys[e.key]) return;
    e.preventDefault();
    keys[e.key]();
    clamp();
    schedule();
  });
  $("in").addEventListener("click", () => zoomAt(...middle(), 2));
  $("out").addEventListener("click", () => zoomAt(...middle(), 0.5));
  $("fit").addEventListener("click", fit);

  // -- search and the top cells ----------------------------------------------------------------
  const readable = () => Math.max(LABEL_PITCH * 1.5, s);
  function jump(k) {
    const count = Math.max(found.rows.length, found.cols.length);
    if (!count) return;
    found.at = (k + count) % count;
    const r = found.rows[found.at % found.rows.length], c = found.cols[found.at % found.cols.length];
    centreOn(r === undefined ? Math.floor(oy + mapH() / s / 2) : r,
      c === undefined ? Math.floor(ox + mapW() / s / 2) : c, readable());
  }
  function matches(labels, query) {
    const exactly = [], partly = [], lower = query.toLowerCase();
    labels.forEach((label, i) => {
      if (label.trim() === query) exactly.push(i);
      else if (label.toLowerCase().includes(lower)) partly.push(i);
    });
    return exactly.length ? exactly : partly;
  }
  function search(query) {
    query = query.trim();
    found.query = query;
    found.rows = query ? matches(meta.y_labels, query) : [];
    found.cols = query ? matches(meta.x_labels, query) : [];
    found.at = -1;
    const list = $("found");
    list.replaceChildren();
    if (query) {
      const head = document.createElement("li");
      head.textContent = found.rows.length || found.cols.length
        ? "“" + query + "”: " + found.rows.length + " rows, " + found.cols.length + " columns"
        : "“" + query + "”: not found";
      list.append(head);
    }
    const positions = [...new Set([...found.rows, ...found.cols])].sort((a, b) => a - b);
    for (const i of positions.slice(0, 200)) {
      const item = document.createElement("li"), button = document.createElement("button");
      button.textContent = i + " " + (meta.y_labels[i] ?? meta.x_labels[i]);
      button.addEventListener("click", () => centreOn(found.rows.includes(i) ? i : Math.floor(oy),
        found.cols.includes(i) ? i : Math.floor(ox), readable()));
      item.append(button);
      list.append(item);
    }
    schedule();
  }
  const box = $("search");
  box.addEventListener("input", () => search(box.value));
  box.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    if (box.value.trim() !== found.query) search(box.value);
    jump(found.at + (e.shiftKey ? -1 : 1));
  });
  for (const [r, c, text] of meta.top) {
    const item = document.createElement("li"), button = document.createElement("button");
    const value = document.createElement("span");
    value.className = "izv-v"; value.textContent = text;
    button.append(value, " " + r + " “" + meta.y_labels[r] + "” → " + c + " “" + meta.x_labels[c] + "”");
    button.addEventListener("click", () => {
      centreOn(r, c, 24);
      requestAnimationFrame(() => hoverAt(screenX(c + 0.5), screenY(r + 0.5)));
    });
    item.append(button);
    $("top").append(item);
  }

  // -- colour bar ----------------------------------------------------------------------------
  function drawColourBar() {
    const bar = $("bar-canvas"), b = bar.getContext("2d"), w = 110, h = 200, top = 8, left = 4;
    bar.width = w * dpr; bar.style.width = w + "px";
    const n = meta.ramp.length, under = meta.under ? 22 : 0;  // a log scale's zero swatch
    bar.height = (h + 2 * top + under) * dpr; bar.style.height = h + 2 * top + under + "px";
    b.scale(dpr, dpr);
    for (let i = 0; i < n; i++) {
      b.fillStyle = meta.ramp[i];
      b.fillRect(left, top + h * (1 - (i + 1) / n), 18, h / n + 0.5);
    }
    b.fillStyle = "#222"; b.strokeStyle = "#222"; b.lineWidth = 0.8;
    b.font = "11px 'DejaVu Sans', Verdana, sans-serif"; b.textBaseline = "middle";
    const ticks = meta.under ? [...meta.ticks, ["0", -under * 0.6 / h]] : meta.ticks;
    for (const [label, fraction] of ticks) {
      const y = top + h * (1 - fraction);
      b.beginPath(); b.moveTo(left + 18, y); b.lineTo(left + 22, y); b.stroke();
      b.fillText(label, left + 25, y);
    }
    if (meta.under) {  // exact zeros (a causal map's future) apart from the ramp, framed
      const y = top + h + under * 0.3;
      b.fillStyle = meta.under; b.fillRect(left, y, 18, under * 0.6);
      b.strokeStyle = "#999"; b.lineWidth = 0.5; b.strokeRect(left, y, 18, under * 0.6);
    }
  }

  // -- size and start ------------------------------------------------------------------------
  function resize() {
    const box = view.getBoundingClientRect(), first = W === 0;
    dpr = window.devicePixelRatio || 1;
    W = Math.max(50, Math.floor(box.width)); H = Math.max(50, Math.floor(box.height));
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    canvas.style.width = W + "px"; canvas.style.height = H + "px";
    const old = fitScale;
    fitScale = Math.min(mapW() / C, mapH() / R);
    if (first || s <= old * 1.0001) fit();
    clamp();
    schedule();
  }
  $("wait").remove();
  $("title").textContent = meta.title || "";
  drawColourBar();
  new ResizeObserver(resize).observe(view);
  resize();
  if (root.classList.contains("izv-page")) root.focus({ preventScroll: true });  // keys work at once
  /* For tools and tests: where the view stands and which tiles were decoded. */
  root.izv = {
    state: () => ({ scale: s, fitScale, ox, oy, level: currentLevel(), loaded: [...loaded],
      complete: root.dataset.complete, rows: R, cols: C, picked: [[...picked.rows], [...picked.cols]] }),
    client: (r, c) => {
      const box = canvas.getBoundingClientRect();
      return [box.left + screenX(c + 0.5), box.top + screenY(r + 0.5)];
    },
  };
})();
