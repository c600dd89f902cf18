//! `syncmap-arcswap` will hold the arc-swap backend of `syncmap_core::SyncMap`: a reclamation
//! strategy whose loaded values are owned `Arc<V>` handles that can cross threads and `.await`
//! points. It is empty until that backend lands (see the project's backends issue).
