//! Map fonts: `GET /fonts.json` lists the fonts the server draws labels with (and the ones
//! its map uses), `GET /fonts/{fontstack}/{start}-{end}.pbf` gives MapLibre's glyph ranges,
//! drawn once per font stack and range and then kept in memory ([`crate::tiles::glyphs`]).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{ApiError, AppState};
use crate::tiles::glyphs::{GlyphError, BOLD, REGULAR};

/// Glyph ranges kept in memory (a Latin range of one font is ~70 KB; the map uses two
/// fonts and a handful of ranges).
pub const GLYPH_CACHE_BYTES: u64 = 32 << 20;

/// The cache of drawn glyph ranges, keyed by font stack and range.
pub type GlyphCache = moka::sync::Cache<(String, String), Bytes>;

/// A glyph cache of [`GLYPH_CACHE_BYTES`].
pub fn glyph_cache() -> GlyphCache {
    moka::sync::Cache::builder()
        .weigher(|k: &(String, String), v: &Bytes| {
            u32::try_from(k.0.len() + k.1.len() + v.len()).unwrap_or(u32::MAX)
        })
        .max_capacity(GLYPH_CACHE_BYTES)
        .build()
}

/// `GET /fonts.json`: the fonts found and the regular and bold ones the map labels use
/// (`null` when no font is installed: the map then shows no names).
pub async fn list(State(st): State<AppState>) -> Json<Value> {
    let fonts = &st.fonts;
    let (regular, bold) = if fonts.is_empty() {
        (None, None)
    } else {
        (
            fonts.pick(&REGULAR),
            fonts.pick(&BOLD).or(fonts.pick(&REGULAR)),
        )
    };
    Json(json!({
        "fonts": fonts.names().collect::<Vec<_>>(),
        "regular": regular,
        "bold": bold,
        "glyphs": "/fonts/{fontstack}/{range}.pbf",
    }))
}

/// `GET /fonts/{fontstack}/{start}-{end}.pbf`.
pub async fn glyphs(
    State(st): State<AppState>,
    Path((stack, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let range = file
        .strip_suffix(".pbf")
        .ok_or_else(|| ApiError::not_found(GlyphError::BadRange(file.clone()).to_string()))?
        .to_string();
    let key = (stack, range);
    let body = match st.glyph_cache.get(&key) {
        Some(b) => b,
        None => {
            let fonts = st.fonts.clone();
            let (stack, range) = key.clone();
            let drawn = tokio::task::spawn_blocking(move || fonts.range(&stack, &range))
                .await
                .map_err(|e| ApiError::internal(format!("glyph drawing stopped: {e}")))?;
            let bytes = Bytes::from(drawn.map_err(|e| match e {
                GlyphError::Render { .. } => ApiError::internal(e.to_string()),
                _ => ApiError::not_found(e.to_string()),
            })?);
            st.glyph_cache.insert(key, bytes.clone());
            bytes
        }
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-protobuf"),
            ),
            // Glyphs change only with the installed fonts.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        body,
    )
        .into_response())
}
