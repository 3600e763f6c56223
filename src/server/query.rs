//! Query strings read into typed structs once, at the edge: a parameter the endpoint does not
//! know, one given twice, or a value its type refuses is a `400` that says which and why.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

use super::error::ApiError;

/// A query string deserialised into `T` (whose fields are the parameters the endpoint knows;
/// unknown ones are refused with `#[serde(deny_unknown_fields)]`).
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// Reads query string `q` into `T`, saying in words which parameter is wrong. `purpose=`
/// (what household data is read for) belongs to the access check
/// ([`super::auth::HouseholdAccess`]), which any address accepts; it is not `T`'s.
pub fn parse_query<T: DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    let without_purpose;
    let q = if q.contains("purpose") {
        without_purpose = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form_urlencoded::parse(q.as_bytes()).filter(|(k, _)| k != "purpose"))
            .finish();
        without_purpose.as_str()
    } else {
        q
    };
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let why = e
            .into_inner()
            .to_string()
            .replace("unknown field", "unknown query parameter")
            .replace("duplicate field", "query parameter given twice:")
            .replace(", expected one of", "; known:")
            .replace(", there are no fields", "; this address takes none");
        match path.as_str() {
            "" | "." => ApiError::BadRequest(why),
            _ => ApiError::BadRequest(format!("{path}: {why}")),
        }
    })
}

/// Reads a query value through `T`'s `FromStr`, whose error says what is wrong with it; for
/// `#[serde(default, deserialize_with = "parsed")]` on an `Option<T>` field. An empty value
/// is refused by the type like any other.
pub fn parsed<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    let text = <Cow<'de, str>>::deserialize(d)?;
    text.parse().map(Some).map_err(D::Error::custom)
}

/// A whole number from `MIN` to `MAX`, written in digits only (no sign, no spaces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded<const MIN: usize, const MAX: usize>(pub usize);

impl<const MIN: usize, const MAX: usize> FromStr for Bounded<MIN, MAX> {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let n = Some(s)
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|n| (MIN..=MAX).contains(n));
        n.map(Bounded)
            .ok_or_else(|| format!("`{s}` is not a whole number from {MIN} to {MAX}"))
    }
}

impl<'de, const MIN: usize, const MAX: usize> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(D::Error::custom)
    }
}

/// A bounding box `west,south,east,north` in degrees: four finite numbers, west not east of
/// east, south not north of north.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox(pub [f64; 4]);

impl FromStr for BBox {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<BBox, &'static str> {
        const WORDS: &str = "bbox must be four numbers: west,south,east,north";
        let v: Vec<f64> = s
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| WORDS)?;
        match v.as_slice() {
            [w, s, e, n] if v.iter().all(|x| x.is_finite()) && w <= e && s <= n => {
                Ok(BBox([*w, *s, *e, *n]))
            }
            _ => Err(WORDS),
        }
    }
}

impl<'de> Deserialize<'de> for BBox {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<BBox, D::Error> {
        let text = <Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::Level;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[serde(default, deserialize_with = "parsed")]
        level: Option<Level>,
        limit: Option<Bounded<1, 100>>,
        bbox: Option<BBox>,
    }

    #[test]
    fn parameters_are_typed_once_and_refused_in_words() {
        let ok: Sample = parse_query("level=desa&limit=7&bbox=1,2,3,4").unwrap();
        assert_eq!(ok.level, Some(Level::Desa));
        assert_eq!(ok.limit, Some(Bounded(7)));
        assert_eq!(ok.bbox, Some(BBox([1.0, 2.0, 3.0, 4.0])));
        let none: Sample = parse_query("").unwrap();
        assert!(none.level.is_none() && none.limit.is_none());
        for (q, words) in [
            ("color=red", "unknown query parameter `color`; known:"),
            ("level%5B%5D=desa", "unknown query parameter `level[]`"),
            ("level=", "level: unknown level ``"),
            ("level=planet", "level: unknown level `planet`"),
            (
                "limit=+1",
                "limit: ` 1` is not a whole number from 1 to 100",
            ),
            (
                "limit=%2B1",
                "limit: `+1` is not a whole number from 1 to 100",
            ),
            ("limit=0", "limit: `0` is not a whole number"),
            ("limit=abc", "limit: `abc`"),
            ("bbox=-Infinity,0,1,1", "bbox: bbox must be four numbers"),
            ("bbox=3,0,1,1", "bbox: bbox must be four numbers"),
            ("limit=1&limit=2", "given twice"),
        ] {
            let err = parse_query::<Sample>(q).unwrap_err();
            assert_eq!(err.status(), axum::http::StatusCode::BAD_REQUEST, "{q}");
            assert!(err.to_string().contains(words), "{q}: {err}");
        }
    }
}
