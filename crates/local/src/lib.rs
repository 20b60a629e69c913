//! Embedded local adapters used when no cloud is configured: the file-backed store.
