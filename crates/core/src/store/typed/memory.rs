//! Caller memory: a summary and notes per caller number, kept for the memory retention.

use super::{Store, from_map, to_map};
use crate::memory::{CallerMemory, MemoryNote};
use crate::phone::PhoneNumber;
use crate::store::{Item, Keys, Page, PageRequest, PutMode, StoreError};

impl Store {
    /// The caller's memory profile; empty if none is stored.
    pub async fn get_memory(&self, number: &PhoneNumber) -> Result<CallerMemory, StoreError> {
        match self
            .records
            .get(&Keys::caller(number), Keys::MEMORY, self.now())
            .await?
        {
            Some(item) => from_map(item.data),
            None => Ok(CallerMemory::default()),
        }
    }

    /// Replaces the caller's memory profile and renews its retention.
    pub async fn put_memory(
        &self,
        number: &PhoneNumber,
        memory: &CallerMemory,
    ) -> Result<(), StoreError> {
        let item = Item {
            pk: Keys::caller(number),
            sk: Keys::MEMORY.into(),
            ttl: self.ttl(self.retention.memory),
            data: to_map(memory)?,
        };
        self.records.put(item, PutMode::Overwrite, self.now()).await
    }

    /// Adds a note to what the assistant remembers about a caller.
    pub async fn add_note(
        &self,
        number: &PhoneNumber,
        note: &MemoryNote,
    ) -> Result<(), StoreError> {
        let item = Item {
            pk: Keys::caller(number),
            sk: Keys::note(note.at),
            ttl: self.ttl(self.retention.memory),
            data: to_map(note)?,
        };
        self.records.put(item, PutMode::Overwrite, self.now()).await
    }

    /// A caller's notes, newest first when asked.
    pub async fn list_notes(
        &self,
        number: &PhoneNumber,
        page: &PageRequest,
    ) -> Result<Page<MemoryNote>, StoreError> {
        self.query_typed(&Keys::caller(number), Keys::NOTE_PREFIX, page)
            .await
    }
}
