//! The storage port: items with `pk`, `sk`, `ttl` and a JSON object of fields.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::StoreError;

/// One stored item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
    /// Expiry in epoch seconds (the table's `ttl` attribute). An item whose `ttl` is at or
    /// before "now" is treated as absent by every read, as DynamoDB deletes expired items only
    /// eventually.
    pub ttl: i64,
    /// The item's fields.
    pub data: Map<String, Value>,
}

impl Item {
    /// Whether the item has expired at `now` (epoch seconds).
    pub fn is_expired(&self, now: i64) -> bool {
        self.ttl <= now
    }
}

/// How a put treats an existing item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// Replace whatever is there.
    Overwrite,
    /// Write only if no live item has this key; otherwise [`StoreError::Conflict`].
    /// An expired item counts as absent.
    IfAbsent,
}

/// A condition on one field of an existing item, checked atomically with an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Guard {
    /// The field equals this value.
    Equals(String, Value),
    /// The field is not set.
    Missing(String),
    /// The field is a number greater than this one.
    GreaterThan(String, i64),
}

/// Which page of a query to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Most items to return (1..=1000).
    pub limit: u32,
    /// Continue after this cursor (from [`Page::next`]).
    pub after: Option<String>,
    /// Newest (highest sort key) first.
    pub newest_first: bool,
}

impl PageRequest {
    /// Largest page size a query may ask for.
    pub const MAX_LIMIT: u32 = 1000;

    /// The first page of `limit` items in ascending sort-key order.
    pub fn first(limit: u32) -> Self {
        Self {
            limit,
            after: None,
            newest_first: false,
        }
    }

    /// The first page of `limit` items, newest first.
    pub fn newest(limit: u32) -> Self {
        Self {
            limit,
            after: None,
            newest_first: true,
        }
    }

    /// The limit, clamped to `1..=MAX_LIMIT`.
    pub fn clamped_limit(&self) -> u32 {
        self.limit.clamp(1, Self::MAX_LIMIT)
    }
}

/// One page of query results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, in the requested order.
    pub items: Vec<T>,
    /// Cursor for the next page; `None` when there are no more items.
    pub next: Option<String>,
}

/// The storage port. Implemented by the DynamoDB adapter and by the embedded local store;
/// both must pass the same test suite (`phone-test-support`'s store suite).
///
/// `now` arguments are epoch seconds, used to hide expired items: passing time in keeps every
/// implementation deterministic under test.
#[async_trait]
pub trait Records: Send + Sync + 'static {
    /// Writes `item`. With [`PutMode::IfAbsent`] a live item with the same key gives
    /// [`StoreError::Conflict`] and nothing is written.
    async fn put(&self, item: Item, mode: PutMode, now: i64) -> Result<(), StoreError>;

    /// Reads one item; `None` if absent or expired.
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError>;

    /// Sets `fields` on a live item if every guard holds, atomically, and returns the item as
    /// it is afterwards. Absent or expired: [`StoreError::NotFound`]; a guard fails:
    /// [`StoreError::Conflict`].
    async fn update(
        &self,
        pk: &str,
        sk: &str,
        fields: Map<String, Value>,
        guards: &[Guard],
        now: i64,
    ) -> Result<Item, StoreError>;

    /// Live items in partition `pk` whose sort key starts with `sk_prefix`, in sort-key order.
    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        page: &PageRequest,
        now: i64,
    ) -> Result<Page<Item>, StoreError>;

    /// Deletes one item; deleting an absent item is not an error.
    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError>;

    /// Checks that the store is reachable (for `/health`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// A short name for logs and `/health`: `dynamodb:<table>` or `local:<path>`.
    fn describe(&self) -> String;
}
