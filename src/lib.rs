//! Lentera: a geospatial analytics and mapping server for Indonesian poverty (BNBA) data.
//!
//! The data's journey, one module per stage (see `ARCHITECTURE.md`):
//! [`ingest`] reads boundary and household files into the [`region`] and household models;
//! [`geocode`] places households in desa; [`index`] locates points in desa; [`aggregate`]
//! counts indicators into a snapshot; [`store`] keeps everything in SQLite or PostGIS;
//! [`server`] serves it over HTTP; [`demo`] builds a synthetic province.

pub mod aggregate;
pub mod app;
pub mod choropleth;
pub mod demo;
pub mod export;
pub mod generate;
pub mod geocode;
pub mod geometry;
pub mod index;
pub mod ingest;
pub mod model;
pub mod region;
pub mod server;
pub mod store;
pub mod tiles;
