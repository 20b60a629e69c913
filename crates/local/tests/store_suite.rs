//! The shared store suite against the embedded store, in memory and file-backed.

use std::sync::Arc;

use phone_core::store::Records;
use phone_local::LocalRecords;

mod in_memory {
    use super::*;

    phone_test_support::store_suite!(async {
        Some(Arc::new(LocalRecords::in_memory()) as Arc<dyn Records>)
    });
}

mod file_backed {
    use super::*;

    /// A fresh log per test, under Cargo's scratch directory for integration tests.
    async fn open() -> Option<Arc<dyn Records>> {
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("phone-local-suite")
            .join(phone_test_support::moto::unique_name("store"));
        Some(Arc::new(
            LocalRecords::open(path).expect("open local store"),
        ))
    }

    phone_test_support::store_suite!(open());
}
