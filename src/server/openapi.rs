//! The OpenAPI 3.1 document of the API, served at `/api/openapi.json`.
//!
//! Written as JSON rather than derived (utoipa): the indicator fields are generated from the
//! same enums ([`Count`], [`Rate`]) that serialise them, so every served field is
//! documented by construction, which a derive over a fixed struct could not do.

use serde_json::{json, Map, Value};

use crate::aggregate::{Count, Described, Indicator, Rate};

/// The schema of one unit's indicators.
fn unit_indicators_schema() -> Value {
    let mut props = Map::new();
    let text = |d: &str| json!({ "type": "string", "description": d });
    props.insert(
        "kode".into(),
        text("Kemendagri code, dotted (`64.72.01.1004`)."),
    );
    props.insert("nama".into(), text("Official name."));
    props.insert(
        "level".into(),
        json!({ "type": "string", "enum": ["provinsi", "kabupaten", "kecamatan", "desa"] }),
    );
    props.insert(
        "jenis".into(),
        json!({ "type": "string", "enum": ["provinsi", "kabupaten", "kota", "kecamatan", "desa", "kelurahan"] }),
    );
    props.insert(
        "parent".into(),
        json!({ "type": ["string", "null"], "description": "Code of the parent unit." }),
    );
    props.insert(
        "period".into(),
        json!({ "type": ["string", "null"], "description": "Data period `YYYY-MM`; null when no data is loaded." }),
    );
    props.insert(
        "has_data".into(),
        json!({ "type": "boolean", "description": "False when no source of the period covers the unit's kabupaten/kota: every indicator is then null (no data), which is not zero." }),
    );
    props.insert(
        "suppressed".into(),
        json!({ "type": "boolean", "description": "True when the unit has 1 to 4 households (`lentera serve --suppress-below`) and the reader is anonymous or a viewer: its figures are null so that a public map cannot single out a family. Logged-in operators, analysts and admins see exact counts." }),
    );
    for (name, about) in [
        ("denominator_households", "All households of the unit (denominators file, or the sum over its children when each has one)."),
        ("denominator_population", "Population of the unit (denominators file, or the sum over its children)."),
    ] {
        props.insert(name.into(), json!({ "type": ["integer", "null"], "description": about }));
    }
    for c in Count::ALL {
        props.insert(
            c.name().into(),
            json!({ "type": ["integer", "null"], "minimum": 0, "description": c.about() }),
        );
    }
    for r in Rate::ALL {
        props.insert(
            r.name().into(),
            json!({ "type": ["number", "null"], "description": format!("{} Null when the denominator is unknown or zero.", r.about()) }),
        );
    }
    props.insert(
        "few_households".into(),
        json!({ "type": "array", "items": { "type": "string" }, "description": "The rates of the unit that rest on fewer households than `min_households` (default 10): shown as \"terlalu sedikit data\", left out of share rankings." }),
    );
    props.insert(
        "sources".into(),
        json!({ "type": "array", "items": { "type": "object" }, "description": "In /api/regions/{kode}: the import batches of the period counted in the unit, as /api/sources gives them." }),
    );
    props.insert(
        "change_notes".into(),
        json!({ "type": "object", "additionalProperties": { "type": "string" }, "description": "With `base=`: for each indicator whose change is null, why, in Bahasa Indonesia (\"tidak sebanding: 2025-06 tidak memuat desil\", \"tidak sebanding: skala desil berbeda (…)\", \"tidak ada data untuk 2024-12\")." }),
    );
    props.insert(
        "base_period".into(),
        json!({ "type": "string", "description": "With `base=`: the period the change is measured from." }),
    );
    for name in Indicator::all().map(Indicator::name) {
        props.insert(
            format!("{name}_change"),
            json!({ "type": ["number", "null"], "description": format!("With `base=`: `{name}` now minus `{name}` in the base period; null when either has no data or the two periods do not state it with the same definition (see `change_notes`).") }),
        );
        props.insert(
            format!("{name}_change_rel"),
            json!({ "type": ["number", "null"], "description": format!("With `base=`: the change of `{name}` relative to the base value; null when the base is zero or either has no data.") }),
        );
    }
    json!({
        "type": "object",
        "required": ["kode", "nama", "level", "jenis", "has_data", "households"],
        "properties": props,
    })
}

/// The whole document.
pub fn document() -> Value {
    let param = |name: &str, description: &str| json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" }, "description": description });
    let period = param(
        "period",
        "Period `YYYY-MM`; the latest period with data when absent.",
    );
    let base = param("base", "A second period: adds `{indicator}_change` and `{indicator}_change_rel` fields measured from it, and `change_notes` saying why a change is null.");
    let min_households = param("min_households", "Rates over fewer households are flagged \"terlalu sedikit data\" (default 10; 0 trusts every rate).");
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let json_of = |schema: Value| json!({ "application/json": { "schema": schema } });
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Lentera API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Poverty indicators (BNBA households) per desa/kelurahan, kecamatan, kabupaten/kota and province. Counts are null where there is no data, which is never the same as zero. A query parameter an endpoint does not know, one given twice, or a value of the wrong form is refused with 400 and `{\"error\": \"…\"}` saying which."
        },
        "paths": {
            "/api/indicators": { "get": {
                "summary": "Indicators of every unit of a level",
                "parameters": [
                    param("level", "provinsi, kabupaten (default), kecamatan or desa."),
                    param("parent", "Only units inside this code (any level above)."),
                    period.clone(), base.clone(), min_households.clone(),
                ],
                "responses": {
                    "200": { "description": "One object per unit, in code order.", "content": json_of(json!({ "type": "array", "items": { "$ref": "#/components/schemas/UnitIndicators" } })) },
                    "400": { "description": "Bad level or code.", "content": json_of(error.clone()) },
                    "404": { "description": "Unknown parent or period.", "content": json_of(error.clone()) }
                }
            }},
            "/api/regions/{kode}": { "get": {
                "summary": "One unit with its indicators, its parents and its children",
                "parameters": [
                    { "name": "kode", "in": "path", "required": true, "schema": { "type": "string" }, "description": "Kemendagri code, dotted or plain." },
                    period.clone(), base.clone(), min_households.clone(),
                ],
                "responses": {
                    "200": { "description": "The unit, plus `bbox`, `parents` (top down) and `children`, each with indicators.", "content": json_of(json!({
                        "allOf": [ { "$ref": "#/components/schemas/UnitIndicators" }, { "type": "object", "properties": {
                            "bbox": { "type": ["array", "null"], "items": { "type": "number" } },
                            "parents": { "type": "array", "items": { "$ref": "#/components/schemas/UnitIndicators" } },
                            "children": { "type": "array", "items": { "$ref": "#/components/schemas/UnitIndicators" } }
                        } } ]
                    })) },
                    "400": { "description": "Not a Kemendagri code.", "content": json_of(error.clone()) },
                    "404": { "description": "Unknown code or period.", "content": json_of(error.clone()) }
                }
            }},
            "/api/regions": { "get": {
                "summary": "Units without geometry or indicators",
                "parameters": [ param("level", "Level."), param("parent", "Only units inside this code.") ],
                "responses": { "200": { "description": "Units in code order." } }
            }},
            "/api/choropleth": { "get": {
                "summary": "Class breaks, colours, counts and legend labels of one indicator at one level",
                "parameters": [
                    param("level", "provinsi, kabupaten (default), kecamatan or desa."),
                    param("indicator", "Any indicator (default desil_1), `{indicator}_change` / `{indicator}_change_rel` with base=, or a flow of households with base= (`transition_stayed`, `transition_entered`, `transition_left`, `transition_moved_in`, `transition_moved_out`, `transition_desil_down`, `transition_desil_up`, `transition_left_desil_1`, `transition_entered_desil_1`; see /api/transitions)."),
                    param("method", "ckmeans (default), quantile, equal, pretty or manual."),
                    param("classes", "3–9 (default 5); fewer come out when the values have fewer distinct numbers."),
                    param("breaks", "For method=manual: inner breaks, e.g. 10,50,100."),
                    param("palette", "ColorBrewer name (YlOrRd default, -RdBu for change; a leading - reverses)."),
                    param("parent", "Classify only units inside this code."),
                    period.clone(), base.clone(), min_households.clone(),
                ],
                "responses": {
                    "200": { "description": "`breaks` (classes + 1 ascending bounds; class i is [breaks[i], breaks[i+1]), the last one closed), `colors`, `counts`, `labels` (Indonesian number format; whole-number ranges that never overlap for counts), `method_label` and `method_about` (in Bahasa Indonesia), for a change `sides` (decrease, zero or increase per class: a change diverges around zero, the zero class in the neutral colour), `no_data` with its colour and label, `no_data_reasons` (why units have no value, e.g. `sumber 2025-06 tidak memuat desil`, or for a change no change, e.g. `tidak sebanding: …`: reason and number of units, most frequent first), `few` (rates over fewer than `min_households` households, not classified) with its colour and label, and `units` (kode, value, class, few).", "content": json_of(json!({ "type": "object" })) },
                    "400": { "description": "Bad level, indicator, method, classes, breaks or palette.", "content": json_of(error.clone()) }
                }
            }},
            "/api/targets": { "get": {
                "summary": "Units ranked by an indicator (ties to the lower code), as JSON, CSV or XLSX",
                "parameters": [
                    param("level", "Level ranked (default desa)."),
                    param("parent", "Only units inside this code."),
                    param("indicator", "Ranking indicator (default desil_1)."),
                    param("top", "List length (default 20)."),
                    param("order", "desc (default) or asc."),
                    param("format", "json (default), csv or xlsx (as a download)."),
                    period.clone(), base.clone(), min_households.clone(),
                ],
                "responses": {
                    "200": { "description": "Ranked units with kecamatan and kabupaten names, the value and key figures. CSV and XLSX have headers in Bahasa Indonesia: Peringkat, Kode, Nama, Kecamatan (desa), Kabupaten/Kota (kecamatan and desa), Periode, Periode pembanding (a change), the ranking figure's label, then the key figures it does not already show." },
                    "400": { "description": "Bad parameter.", "content": json_of(error.clone()) }
                }
            }},
            "/api/fields": { "get": {
                "summary": "Every indicator: name, labels in Bahasa Indonesia, kind, description, and where the web map shows it; the flows of households the map draws with a base period (`flows`: name, label); and the classification methods (`methods`: name, label, about in Bahasa Indonesia)",
                "responses": { "200": { "description": "`fields`: name, label, short_label, kind (count or rate: a share 0–1), about, map and panel (place in the map's list and in a unit's panel; null where not shown).", "content": json_of(json!({ "type": "object", "properties": { "fields": { "type": "array", "items": { "type": "object", "properties": {
                    "name": { "type": "string" }, "label": { "type": "string" }, "short_label": { "type": "string" },
                    "kind": { "type": "string", "enum": ["count", "rate"] }, "about": { "type": "string" },
                    "map": { "type": ["integer", "null"] }, "panel": { "type": ["integer", "null"] }
                } } } } })) } }
            }},
            "/api/periods": { "get": {
                "summary": "Periods with data and their household counts",
                "responses": { "200": { "description": "Oldest first.", "content": json_of(json!({ "type": "array", "items": { "type": "object", "properties": { "period": { "type": "string" }, "households": { "type": "integer" } } } })) } }
            }},
            "/api/sources": { "get": {
                "summary": "Provenance: per unit, the import batches of the period counted in it",
                "parameters": [
                    param("level", "provinsi, kabupaten (default), kecamatan or desa."),
                    param("parent", "Only units inside this code."),
                    period.clone(),
                ],
                "responses": {
                    "200": { "description": "One object per unit (kode, nama, level, period, households) with `sources`: per batch its id, file name, source format, import time, households counted in the unit, how many were placed by GPS / region code / names (and their shares), how many are flagged, and `states`: the fields its households state (members, desil, desil_4, desil_10, extreme_poor, programs, pkh…). An indicator resting on a field no source of the unit states is null.", "content": json_of(json!({ "type": "array", "items": { "type": "object" } })) },
                    "400": { "description": "Bad parameter.", "content": json_of(error.clone()) },
                    "404": { "description": "Unknown parent or period.", "content": json_of(error.clone()) }
                }
            }},
            "/api/transitions": { "get": {
                "summary": "What happened to households between two periods, per unit",
                "description": "Households are matched across periods by the 64-bit prefixes of their keyed KK hash, else their head's NIK hash (never in clear). Per unit: households, base_households, matched (= stayed + moved_in), stayed, entered (in the period only), left (in the base only), moved_in / moved_out (matched, counted in another unit of the level in the other period), and for matched households with a desil in both periods desil_both, desil_down (poorer), desil_same, desil_up, left_desil_1, entered_desil_1. Always households = stayed + moved_in + entered and base_households = stayed + moved_out + left. Null, with `note`, where either period has no source covering the unit.",
                "parameters": [
                    param("level", "provinsi, kabupaten (default), kecamatan or desa."),
                    param("parent", "Only units inside this code."),
                    period.clone(),
                    param("base", "The earlier period (default: the period before `period`)."),
                ],
                "responses": {
                    "200": { "description": "One object per unit, in code order.", "content": json_of(json!({ "type": "array", "items": { "type": "object" } })) },
                    "400": { "description": "Bad parameter.", "content": json_of(error.clone()) },
                    "404": { "description": "Unknown parent or period, or no earlier period.", "content": json_of(error.clone()) }
                }
            }},
            "/api/reconciliation": { "get": {
                "summary": "Per import batch: households stored = duplicates + counted + not placed",
                "responses": { "200": { "description": "Batches and totals." } }
            }},
            "/api/export/{file}": { "get": {
                "summary": "Units of a level with every indicator as a download, or (with a token) the households of a period",
                "description": "`{level}.geojson|csv|xlsx|gpkg` for units (level kabupaten, kecamatan or desa); `households.geojson|csv` for households, which needs a login (session cookie) or a personal API token (`Authorization: Bearer TOKEN`) of an admin, operator or analyst, stays inside the user's scope (NIK and KK masked), needs `purpose=` from analysts and is recorded in the audit trail.",
                "parameters": [
                    { "name": "file", "in": "path", "required": true, "schema": { "type": "string" }, "description": "e.g. `desa.geojson`, `kecamatan.gpkg`, `households.csv`." },
                    param("parent", "Only units (households) inside this code."),
                    param("bbox", "west,south,east,north: units whose outline meets the box (households whose point lies in it)."),
                    param("geometry", "CSV of units: wkt (default) or point."),
                    param("min_{indicator}", "Units only: at least this value of the indicator (also max_{indicator})."),
                    period.clone(),
                ],
                "security": [ {}, { "bearer": [] } ],
                "responses": {
                    "200": { "description": "The file, with a Content-Disposition file name; GeoJSON and CSV are streamed." },
                    "400": { "description": "Bad parameter.", "content": json_of(error.clone()) },
                    "401": { "description": "Households without a login or token, or with an unknown, expired or revoked token.", "content": json_of(error.clone()) },
                    "403": { "description": "Households for a viewer, or a user without a scope.", "content": json_of(error.clone()) },
                    "404": { "description": "Unknown level, format, parent or period.", "content": json_of(error.clone()) }
                }
            }},
            "/api/search": { "get": {
                "summary": "Units by name (clerks' spellings accepted) or code prefix, best first",
                "parameters": [ param("q", "Name or code."), param("limit", "1–100 (default 10).") ],
                "responses": {
                    "200": { "description": "`results`: kode, nama, level, jenis, bbox and parents (names of the kecamatan and kabupaten/kota). `did_you_mean`: for a name that neither equals nor starts any unit's name, up to 3 place names at least 75 % similar (`Tengarong` → `Tenggarong`), most similar first; empty otherwise." },
                    "400": { "description": "No query, or a bad limit.", "content": json_of(error.clone()) }
                }
            }},
            "/api/templates/{file}": { "get": {
                "summary": "The verval template (`verval.xlsx` with instructions in Bahasa Indonesia, or `verval.csv`)",
                "parameters": [ { "name": "file", "in": "path", "required": true, "schema": { "type": "string", "enum": ["verval.xlsx", "verval.csv"] } } ],
                "responses": { "200": { "description": "The template as a download." } }
            }},
            "/tiles/{layer}/{z}/{x}/{y}.mvt": { "get": {
                "summary": "A Mapbox Vector Tile of `kabupaten`, `kecamatan`, `desa` (every tile indicator of the period) or `households` (needs a login or token of a user who may read household data; `purpose=` for analysts)",
                "parameters": [
                    { "name": "layer", "in": "path", "required": true, "schema": { "type": "string" } },
                    { "name": "z", "in": "path", "required": true, "schema": { "type": "integer" } },
                    { "name": "x", "in": "path", "required": true, "schema": { "type": "integer" } },
                    { "name": "y", "in": "path", "required": true, "schema": { "type": "integer" } },
                    period.clone(),
                ],
                "responses": { "200": { "description": "The tile (gzip when accepted)." }, "204": { "description": "An empty tile." }, "400": { "description": "Bad layer or tile address." } }
            }},
            "/tiles/{layer}.json": { "get": { "summary": "TileJSON 3.0 of a layer", "responses": { "200": { "description": "TileJSON" } } } },
            "/style.json": { "get": { "summary": "A MapLibre style drawing one indicator with the API's classes (legend in metadata `lentera:legend`)", "responses": { "200": { "description": "Style" } } } },
            "/ogc": { "get": { "summary": "OGC API – Features landing page (its own OpenAPI 3.0 document is at /ogc/api)", "responses": { "200": { "description": "Landing page" } } } },
            "/api/openapi.json": { "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3.1" } } } },
            "/api/session": {
                "get": { "summary": "Who is logged in: `username` (null for nobody), `role`, `scope`, `csrf` (the token state-changing requests carry as `X-CSRF-Token`), `households` (may read household data), `needs_purpose`", "responses": { "200": { "description": "The session" } } },
                "post": { "summary": "Log in with `{\"username\", \"password\"}`: sets an HttpOnly, SameSite=Strict session cookie", "responses": { "200": { "description": "Logged in (as GET)" }, "401": { "description": "Wrong user name or password" }, "403": { "description": "Account locked after repeated failures" }, "429": { "description": "Too many failed logins from this address" } } },
                "delete": { "summary": "Log out (needs `X-CSRF-Token`)", "responses": { "204": { "description": "Logged out" } } }
            },
            "/api/audit": { "get": {
                "summary": "The audit trail, for admins: logins, token and user changes, imports, removals, corrections and every household-data read, each record chained to the one before by SHA-256",
                "parameters": [ param("since", "From this date or time."), param("user", "One user's records."), param("action", "One action (login, login_failed, logout, user_add, user_change, token_create, token_revoke, batch_import, batch_remove, batch_correct, household_read, backup, restore, batch_submit, batch_accept, batch_return, round_open, round_close, program_add, program_remove, program_list, target_save)."), param("after", "Records after this id."), param("limit", "1–5000 (default 200).") ],
                "security": [ { "bearer": [] } ],
                "responses": { "200": { "description": "Records, oldest first." }, "401": { "description": "Not logged in." }, "403": { "description": "Not an admin." } }
            }},
            "/api/users": { "get": { "summary": "Users with role, scope and state, for admins", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "Users" }, "401": { "description": "Not logged in." }, "403": { "description": "Not an admin." } } } },
            "/api/batches": {
                "get": { "summary": "Household batches the caller may act on (admins: all; operators: their area's), with their round state", "parameters": [ param("period", "Only this period.") ], "security": [ { "bearer": [] } ], "responses": { "200": { "description": "Batches, newest first" }, "401": { "description": "Not logged in." }, "403": { "description": "Not an admin or operator." } } },
                "post": { "summary": "Upload a household file (CSV or XLSX as the body, or a multipart part named `file`), streamed to disk and imported: an operator's inside its area as a draft (rows outside refused as `di luar wilayah Anda`), an admin's accepted. Answers the import summary.", "parameters": [ param("period", "The data period (required)."), param("format", "p3ke, dtks, dtsen, verval (detected when absent)."), param("sheet", "Sheet of a workbook."), param("name", "The file's name.") ], "security": [ { "bearer": [] } ], "responses": { "200": { "description": "Import summary" }, "400": { "description": "Unreadable file or broken-off transfer (nothing kept)." }, "409": { "description": "Same file already uploaded, or the round is closed." }, "413": { "description": "Past --max-upload-mib (nothing kept)." } } }
            },
            "/api/batches/{id}": {
                "get": { "summary": "One batch", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "Batch" }, "404": { "description": "No such batch in the caller's area." } } },
                "delete": { "summary": "Remove a batch (operators: their drafts and returned batches)", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "The removed batch" }, "409": { "description": "Not a draft or returned batch." } } }
            },
            "/api/batches/{id}/review": {
                "get": { "summary": "Households of the batch to review (unplaced, ambiguous, flagged) with candidate desa, at most 2,000; recorded in the audit trail", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "Review list" } } },
                "post": { "summary": "Corrections `{\"corrections\": [{\"id\", \"kode\"} | {\"id\", \"titik\": [lon, lat]} | {\"id\", \"tidak_ditemukan\": true}]}`, geocoded again; a desa or point outside an operator's area is refused", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "Applied, resolved, left to review, problems" } } }
            },
            "/api/batches/{id}/preview": { "get": { "summary": "What the batch holds per desa (households, desil 1, extreme poor, to review)", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "Preview" } } } },
            "/api/batches/{id}/{file}": {
                "get": { "summary": "`rejects.xlsx` or `rejects.csv`: rows refused, reasons in Bahasa Indonesia, identity numbers masked; recorded in the audit trail", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "Reject report" } } },
                "post": { "summary": "`submit` (operator), `accept` or `return` with `{\"note\"}` (admin): the batch's next step; only accepted batches count", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "The batch" }, "403": { "description": "Not the caller's step." }, "409": { "description": "Not possible from the batch's status." } } }
            },
            "/api/uploads/{id}": { "get": { "summary": "Progress of the caller's upload with this `X-Upload-Id`", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "Phase, bytes received, rows read and estimated" } } } },
            "/api/rounds": {
                "get": { "summary": "Verval rounds, newest first", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "Rounds" } } },
                "post": { "summary": "Open a round (admins): `{\"period\", \"deadline\": \"YYYY-MM-DD\", \"expected\": [kabupaten codes]}`", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "The round" } } }
            },
            "/api/rounds/{period}": { "get": { "summary": "Where each expected kabupaten/kota stands: status, batches, households, rows, placement shares, to review, submitted and accepted by/at, change against the previous round (`/status.xlsx` as a workbook)", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "Round status" }, "404": { "description": "No round for the period." } } } },
            "/api/rounds/{period}/close": { "post": { "summary": "Close a round (admins): no more uploads", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "The round" } } } },
            "/healthz": { "get": { "summary": "Health of the server and its store", "responses": { "200": { "description": "Healthy" }, "503": { "description": "The store is not available" } } } }
        },
        "components": {
          "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
          "schemas": {
            "UnitIndicators": unit_indicators_schema(),
            "Error": { "type": "object", "properties": { "error": { "type": "string" } }, "required": ["error"] }
        }}
    });
    // Static maps, goals and trends (a second literal: one would pass the macro's recursion limit).
    let more = json!({
            "/api/map.png": { "get": {
                "summary": "The choropleth as a PNG picture (title, legend with counts, sources, scale bar, north arrow, date)",
                "parameters": [
                    param("level", "kabupaten (default), kecamatan or desa."),
                    param("indicator", "As /api/choropleth."),
                    param("method", "As /api/choropleth."),
                    param("classes", "As /api/choropleth."),
                    param("breaks", "As /api/choropleth."),
                    param("palette", "As /api/choropleth."),
                    param("parent", "Only units inside this code."),
                    param("width", "Pixels, 200–4000 (default 1200)."),
                    param("height", "Pixels, 200–4000 (default 800)."),
                    param("scale", "1 (default) or 2 for print."),
                    param("title", "The title (default: the indicator and the area)."),
                    param("labels", "true (default) or false: the units' names."),
                    period.clone(), base.clone(), min_households.clone(),
                ],
                "responses": {
                    "200": { "description": "image/png with the classes and colours of /api/choropleth for the same parameters; `X-Map-Frame: x0,y0,k,wx0,wy0` maps Web Mercator world coordinates (0–1) to pixels (x0 + (wx - wx0)·k, y0 + (wy - wy0)·k) before scale." },
                    "400": { "description": "Bad size, scale, title or a parameter of /api/choropleth.", "content": json_of(error.clone()) }
                }
            }},
            "/api/profile/{kode}.pdf": { "get": {
                "summary": "Profil Kemiskinan: an A4 PDF of a unit (headline figures with change, map of its children, trend with goal, coverage gaps, top 20 children, sources, date)",
                "responses": {
                    "200": { "description": "application/pdf." },
                    "404": { "description": "Unknown unit, or a path that is not {kode}.pdf.", "content": json_of(error.clone()) }
                }
            }},
            "/api/goals": { "get": {
                "summary": "The goals set with `lentera goals set` (an indicator's target value by a year for a unit and everything inside it)",
                "responses": { "200": { "description": "indicator, label, value (a share 0–1 for a rate), percent, year, unit (null: everywhere)." } }
            }},
            "/api/trend": { "get": {
                "summary": "One indicator of a unit in every period, with its parent and province for a rate, and the goal that holds there",
                "parameters": [ param("kode", "The unit (required)."), param("indicator", "Default desil_1.") ],
                "responses": {
                    "200": { "description": "`periods`, `series` (kode, nama, level, points: period, value — null for no data — and suppressed), `goal` (null when none)." },
                    "400": { "description": "No unit named, or an unknown indicator.", "content": json_of(error.clone()) },
                    "404": { "description": "Unknown unit.", "content": json_of(error.clone()) }
                }
            }}
    });
    if let (Some(paths), Some(more)) = (doc["paths"].as_object_mut(), more.as_object()) {
        paths.extend(more.clone());
    }
    if let (Some(paths), Value::Object(more)) = (doc["paths"].as_object_mut(), program_paths()) {
        paths.extend(more);
    }
    doc
}
/// The paths of programmes and targeting (a document of their own: one `json!` of the
/// whole API would pass the macro's recursion limit).
fn program_paths() -> Value {
    let param = |name: &str, description: &str| json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" }, "description": description });
    json!({
            "/api/programs": {
                "get": { "summary": "Regional programmes with what the snapshot matched of their lists (logged in)", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "Programmes" } } },
                "post": { "summary": "Register a programme (admins, analysts): name, agency, year, kind (household|location), desil (`1-4`), budget, unit_cost", "security": [ { "bearer": [] } ], "responses": { "201": { "description": "The programme" }, "400": { "description": "A field is wrong, said in words." } } }
            },
            "/api/programs/{id}": {
                "get": { "summary": "One programme", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "The programme" }, "404": { "description": "No such programme." } } },
                "delete": { "summary": "Remove a programme and its list (admins, analysts)", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "The programme removed" } } }
            },
            "/api/programs/{id}/list": { "post": { "summary": "Upload a programme's list (admins, analysts) as the body or the `file` part of a multipart form, CSV or XLSX: NIK or KK per row for a household programme (hashed as read, never stored in clear), region codes and amounts for a location programme; `period=` is the period whose households it is matched to. Replaces the list before; answers rows read, kept, refused (with reasons), matched, and the rows matching no household with NIK and KK masked", "security": [ { "bearer": [] } ], "parameters": [ param("period", "YYYY-MM."), param("name", "The file's name.") ], "responses": { "200": { "description": "The list's report" }, "400": { "description": "The file or the period cannot be used, said in words." }, "413": { "description": "Past the upload limit." } } } },
            "/api/programs/{id}/coverage": { "get": { "summary": "A programme's figures per unit in its list's period (eligible, covered, uncovered, uncovered_share, leakage, overlap, beneficiaries; places and amount for a location programme), most uncovered first; the same figures are choropleth indicators named `program_{id}_{figure}`", "security": [ { "bearer": [] } ], "parameters": [ param("level", "desa (default), kecamatan, kabupaten."), param("parent", "Only units inside this one."), param("format", "json (default), csv, xlsx.") ], "responses": { "200": { "description": "Coverage per unit" } } } },
            "/api/targeting": { "get": { "summary": "The targeting builder: units ranked by the households the criteria target (desil up to desil_max, not reached by not_covered: a programme id, regional, any or a national programme such as pkh; inside area), units under min_households left out, ranked by count or share, with a quota (budget / unit_cost, or quota) taken down the ranking", "security": [ { "bearer": [] } ], "parameters": [ param("period", "YYYY-MM (default the latest)."), param("desil_max", "1–10 (default 1)."), param("not_covered", "Programme id, regional, any, or a national programme."), param("area", "A region code."), param("level", "desa (default), kecamatan, kabupaten."), param("min_households", "Default 1."), param("rank_by", "count (default) or share."), param("budget", "Rupiah."), param("unit_cost", "Rupiah per household."), param("quota", "Households."), param("format", "json (default), csv, xlsx.") ], "responses": { "200": { "description": "The ranking" } } } },
            "/api/targeting/households": { "get": { "summary": "The households of a target (NIK and KK masked, name, address, desil, unit, programmes received), each unit giving the quota's share lowest desil first; for roles that read household data, inside their scope (a limited scope needs area=), analysts with purpose=; audited", "security": [ { "bearer": [] } ], "parameters": [ param("format", "csv (default) or xlsx."), param("purpose", "What the list is for (analysts).") ], "responses": { "200": { "description": "The household list" }, "403": { "description": "The role may not read households there." } } } },
            "/api/target-lists": {
                "get": { "summary": "Saved target lists", "security": [ { "bearer": [] } ], "responses": { "200": { "description": "Lists" } } },
                "post": { "summary": "Save a target list ({name, criteria: the targeting query string}): its households' keys, unit and desil, no names or numbers; household rules as /api/targeting/households", "security": [ { "bearer": [] } ], "responses": { "201": { "description": "The list" } } }
            },
            "/api/target-lists/{id}/compare": { "get": { "summary": "What became of a saved list's households in a period: still listed, left desil 1, moved, reached by a programme, no longer listed (totals and per unit)", "security": [ { "bearer": [] } ], "parameters": [ param("period", "YYYY-MM (default the latest).") ], "responses": { "200": { "description": "The follow-up" } } } }
    })
}
