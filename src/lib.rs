//! Lentera: a geospatial analytics and mapping server for Indonesian poverty (BNBA) data.
//!
//! The data's journey, one module per stage, each depending only on those before it (see
//! `ARCHITECTURE.md`, whose order a test checks): [`geometry`] and [`region`] hold outlines
//! and codes; [`model`] the households, geocodes, batches and periods every stage shares;
//! [`index`] locates points in desa; [`geocode`] places households in desa; [`ingest`] reads
//! boundary and household files and hands households to a [`model::BatchSink`];
//! [`generate`] and [`demo`] make synthetic data; [`aggregate`] counts indicators into a
//! snapshot; [`choropleth`] classes them; [`store`] keeps everything in SQLite or PostGIS;
//! [`tiles`] and [`export`] serve and write it; [`app`] joins the stages to a store; and
//! [`server`] serves it all over HTTP.

pub mod geometry;
pub mod region;

pub mod model;

pub mod geocode;
pub mod index;
pub mod ingest;

pub mod demo;
pub mod generate;

pub mod aggregate;

pub mod choropleth;
pub mod export;
pub mod render;
pub mod store;
pub mod tiles;

pub mod app;
pub mod server;
