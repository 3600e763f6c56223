//! Ingest: reading the files users hold into Lentera's model.
//!
//! `boundaries` reads administrative boundaries (GeoJSON, Shapefile, GeoPackage).

pub mod boundaries;
