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

    async fn open() -> Option<Arc<dyn Records>> {
        let dir = std::env::temp_dir().join(format!("phone-local-suite-{}", std::process::id()));
        let path = dir.join(phone_test_support::moto::unique_name("store"));
        Some(Arc::new(
            LocalRecords::open(path).expect("open local store"),
        ))
    }

    phone_test_support::store_suite!(open());
}
