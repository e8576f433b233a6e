//! The `xhr-multipart` transport (docs/protocol.md §5.6), ferrio's extension of protocol 1: one GET
//! answered with `multipart/x-mixed-replace`, each batch one MIME part holding exactly what an
//! xhr-polling answer would. Unlike htmlfile, a closed stream only starts the close timeout;
//! the next GET picks up what was buffered. POSTs are as for xhr-polling, and 0.6-style form
//! posts (field `data`) are accepted too.

mod wire;

pub use wire::MultipartWire;
