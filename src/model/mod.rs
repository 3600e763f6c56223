//! The model every stage shares: households, their geocoding results, batches, the facts
//! aggregation reads, periods and jurisdictions. It depends on [`crate::region`] only; every
//! later stage depends on it.

pub mod access;
pub mod batch;
pub mod facts;
pub mod geocode;
pub mod household;
pub mod period;

pub use access::Scope;
pub use batch::{BatchCounts, BatchInfo, BatchSink, NewBatch, StoredHousehold};
pub use facts::{Denominators, HouseholdFacts};
pub use geocode::{Flag, Flags, Geocode, GeocodeSummary, Quality, MAX_CANDIDATES};
pub use household::{
    Address, AttrName, DesilScale, DuplicateOf, Household, IdHash, Program, Programs, Reject, Sex,
    SourceFormat, Text, UnknownFormat,
};
pub use period::{BadPeriod, Period};
