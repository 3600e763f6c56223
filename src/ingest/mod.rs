//! Ingest: reading the files users hold into Lentera's model.
//!
//! `boundaries` reads administrative boundaries (GeoJSON, Shapefile, GeoPackage);
//! `households` reads BNBA household files (P3KE, DTKS, DTSEN, verval, custom).

pub mod boundaries;
pub mod households;
