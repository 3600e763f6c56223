//! What Lentera does end to end over a store, shared by the command line and the server:
//! import boundary and household files, build the geocoder of the stored regions, load a
//! snapshot, set up the demo. The stages below know nothing of the store; this is where the
//! files they read meet the store that keeps them.

mod boundaries;
mod demo;
pub mod goals;
mod households;
mod programs;
pub mod snapshot;

pub use boundaries::{import_boundaries, BoundaryImportError, ImportOutcome};
pub use demo::{load_demo_households, DemoError};
pub use households::{
    import_households, store_geocoder, HouseholdImport, HouseholdImportError,
    HouseholdImportOptions,
};
pub use programs::{upload_program_list, ListReport, ListUpload, ProgramListError, REPORT_ROWS};
pub use snapshot::load_snapshot;
