//! Ingest: reading the files users hold into Lentera's model.
//!
//! [`boundaries`] reads administrative boundaries (GeoJSON, Shapefile, GeoPackage);
//! [`households`] reads BNBA household files (P3KE, DTKS, DTSEN, verval, custom);
//! [`denominators`] reads the households and population per unit that rates divide by;
//! [`programs`] reads programme lists (beneficiaries or places);
//! [`budget`] bounds the memory one import may take;
//! [`review`] writes the households a clerk should look at and reads their corrections back.

pub mod archive;
pub mod boundaries;
pub mod budget;
pub mod denominators;
pub mod households;
pub mod programs;
pub mod review;
