//! The OpenAPI 3.0 document of `/ogc`.

use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};

use super::{base_url, json_response, DEFAULT_LIMIT, GEOJSON, JSON, MAX_LIMIT, OPENAPI};

/// `GET /ogc/api`: the OpenAPI 3.0 definition of the OGC API.
pub async fn api(headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    json_response(document(&base), OPENAPI)
}

/// The OpenAPI 3.0 document of `/ogc`, with `base` as its server.
pub fn document(base: &str) -> Value {
    let json_ok = |d: &str| json!({ "200": { "description": d, "content": { JSON: { "schema": { "type": "object" } } } } });
    let geojson_ok = |d: &str| {
        json!({
            "200": { "description": d, "content": { GEOJSON: { "schema": { "type": "object" } } } },
            "400": { "description": "A parameter is not valid (the message says which)." },
            "401": { "description": "The household collection needs an API token." },
            "404": { "description": "No such collection or feature." }
        })
    };
    let collection_id = json!({
        "name": "collectionId", "in": "path", "required": true,
        "schema": { "type": "string", "enum": ["kabupaten", "kecamatan", "desa", "households"] }
    });
    let period = json!({
        "name": "period", "in": "query", "required": false,
        "description": "Data period `YYYY-MM` (default: the latest with data).",
        "schema": { "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$" }
    });
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Lentera OGC API – Features",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Poverty indicators per kabupaten/kota, kecamatan and desa/kelurahan. The `households` collection needs `Authorization: Bearer <token>`."
        },
        "servers": [{ "url": base }],
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } }
        },
        "paths": {
            "/": { "get": { "summary": "Landing page", "operationId": "getLandingPage", "responses": json_ok("Links to the API definition, conformance and collections.") } },
            "/conformance": { "get": { "summary": "Conformance classes", "operationId": "getConformance", "responses": json_ok("The conformance classes implemented.") } },
            "/api": { "get": { "summary": "This document", "operationId": "getApi", "responses": { "200": { "description": "OpenAPI 3.0", "content": { OPENAPI: {} } } } } },
            "/collections": { "get": { "summary": "Collections", "operationId": "getCollections", "responses": json_ok("The feature collections.") } },
            "/collections/{collectionId}": { "get": {
                "summary": "One collection", "operationId": "describeCollection",
                "parameters": [collection_id.clone()],
                "responses": json_ok("The collection.")
            } },
            "/collections/{collectionId}/items": { "get": {
                "summary": "Features of a collection", "operationId": "getFeatures",
                "parameters": [
                    collection_id.clone(),
                    { "name": "limit", "in": "query", "required": false, "style": "form", "explode": false,
                      "schema": { "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT } },
                    { "name": "offset", "in": "query", "required": false,
                      "schema": { "type": "integer", "minimum": 0, "default": 0 } },
                    { "name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
                      "description": "west,south,east,north in CRS84: features that intersect the box.",
                      "schema": { "type": "array", "minItems": 4, "maxItems": 4, "items": { "type": "number" } } },
                    period.clone(),
                ],
                "responses": geojson_ok("A page of features, with `numberMatched`, `numberReturned` and a `next` link while more remain.")
            } },
            "/collections/{collectionId}/items/{featureId}": { "get": {
                "summary": "One feature", "operationId": "getFeature",
                "parameters": [
                    collection_id,
                    { "name": "featureId", "in": "path", "required": true, "schema": { "type": "string" },
                      "description": "Kemendagri code for units (`64.72.01.1004`)." },
                    period,
                ],
                "responses": geojson_ok("The feature.")
            } }
        }
    })
}
