//! The `htmlfile` transport (docs/protocol.md §5.3), the "forever iframe" of Internet Explorer: one
//! GET answered with an HTML document that never ends, each batch a `<script>_("…");</script>`
//! chunk that the parent page's socket receives. POSTs are as for xhr-polling. Everything but
//! this framing lives in `ferrio-transport`.

mod wire;

pub use wire::HtmlfileWire;
