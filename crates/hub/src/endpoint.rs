//! What a session keeps per joined namespace, laid out for the common session: one or two
//! namespaces, no pending acks, no rooms. Every connected session holds one of these for its
//! whole life, so hash tables (a hasher seed each, and four buckets on the first insert) cost
//! more than the few entries they would index.

use std::collections::VecDeque;

use serde_json::Value;

/// A callback waiting for the client's ack of a packet the server sent.
pub(crate) type AckCallback = Box<dyn FnOnce(Vec<Value>) + Send>;

/// Per joined namespace: the id counter for packets the server sends, their pending acks and
/// the rooms joined there.
#[derive(Default)]
pub(crate) struct EndpointState {
    next_id: u64,
    /// Pending acks by message id. Ids only grow, so pushing at the back keeps this sorted;
    /// acks mostly come back in order, so taking one is usually a pop at the front. Holds no
    /// allocation while nothing is pending.
    acks: VecDeque<(u64, AckCallback)>,
    /// The rooms joined here, sorted and without duplicates. No allocation until the first.
    rooms: Vec<Box<str>>,
}

impl std::fmt::Debug for EndpointState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointState")
            .field("next_id", &self.next_id)
            .field("pending_acks", &self.acks.len())
            .field("rooms", &self.rooms)
            .finish()
    }
}

impl EndpointState {
    /// Allocates the next message id, registering `callback` for its ack.
    pub(crate) fn next_message_id(&mut self, callback: Option<AckCallback>) -> u64 {
        // A u64 counting one per packet sent never wraps, so the acks stay sorted by id.
        self.next_id += 1;
        let id = self.next_id;
        if let Some(callback) = callback {
            self.acks.push_back((id, callback));
        }
        id
    }

    /// Takes the callback waiting for the ack of `id`; `None` for an id nobody waits for (the
    /// client picks `id`, so any value may come).
    pub(crate) fn take_ack(&mut self, id: u64) -> Option<AckCallback> {
        let index = self.acks.binary_search_by_key(&id, |(id, _)| *id).ok()?;
        let (_, callback) = self.acks.remove(index)?;
        if self.acks.is_empty() {
            // Give the buffer back: acks come in bursts, and an idle session should hold none.
            self.acks = VecDeque::new();
        }
        Some(callback)
    }

    /// Records a room membership; joining twice is harmless.
    pub(crate) fn add_room(&mut self, room: &str) {
        if let Err(index) = self.rooms.binary_search_by(|probe| (**probe).cmp(room)) {
            reserve_one(&mut self.rooms);
            self.rooms.insert(index, room.into());
        }
    }

    /// Forgets a room membership; leaving a room not joined is harmless.
    pub(crate) fn remove_room(&mut self, room: &str) {
        if let Ok(index) = self.rooms.binary_search_by(|probe| (**probe).cmp(room)) {
            self.rooms.remove(index);
            if self.rooms.is_empty() {
                self.rooms = Vec::new();
            }
        }
    }

    /// The rooms joined here, sorted.
    pub(crate) fn rooms(&self) -> &[Box<str>] {
        &self.rooms
    }
}

/// The namespaces a session joined, in join order. Only declared namespaces can be joined, so
/// there are few and a linear search beats hashing.
#[derive(Debug, Default)]
pub(crate) struct Endpoints(Vec<(Box<str>, EndpointState)>);

impl Endpoints {
    /// Whether `name` is joined.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The state of `name`, if joined.
    pub(crate) fn get(&self, name: &str) -> Option<&EndpointState> {
        self.0
            .iter()
            .find(|(joined, _)| **joined == *name)
            .map(|(_, state)| state)
    }

    /// The state of `name`, if joined.
    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut EndpointState> {
        self.0
            .iter_mut()
            .find(|(joined, _)| **joined == *name)
            .map(|(_, state)| state)
    }

    /// Joins `name` with a fresh state; `false` if it was joined already.
    pub(crate) fn insert(&mut self, name: &str) -> bool {
        if self.contains(name) {
            return false;
        }
        reserve_one(&mut self.0);
        self.0.push((name.into(), EndpointState::default()));
        true
    }

    /// Leaves `name`, returning its state.
    pub(crate) fn remove(&mut self, name: &str) -> Option<EndpointState> {
        let index = self.0.iter().position(|(joined, _)| **joined == *name)?;
        // `remove`, not `swap_remove`: disconnect handlers run in join order at close.
        Some(self.0.remove(index).1)
    }
}

impl IntoIterator for Endpoints {
    type Item = (Box<str>, EndpointState);
    type IntoIter = std::vec::IntoIter<(Box<str>, EndpointState)>;

    /// The joined namespaces with their states, in join order.
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Makes room for one more element, doubling from one rather than from `Vec`'s first step of
/// four: these vectors mostly hold one or two elements for a session's whole life.
fn reserve_one<T>(vec: &mut Vec<T>) {
    if vec.len() == vec.capacity() {
        vec.reserve_exact(vec.len().max(1));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counting(hits: &Arc<AtomicUsize>, weight: usize) -> AckCallback {
        let hits = Arc::clone(hits);
        Box::new(move |_| {
            hits.fetch_add(weight, Ordering::Relaxed);
        })
    }

    #[test]
    fn acks_are_found_by_id_in_any_order_and_only_once() {
        let hits = Arc::new(AtomicUsize::new(0));
        let mut state = EndpointState::default();
        assert_eq!(state.next_message_id(Some(counting(&hits, 1))), 1);
        assert_eq!(state.next_message_id(None), 2);
        assert_eq!(state.next_message_id(Some(counting(&hits, 10))), 3);
        assert_eq!(state.next_message_id(Some(counting(&hits, 100))), 4);

        assert!(
            state.take_ack(2).is_none(),
            "no callback was registered for 2"
        );
        assert!(state.take_ack(0).is_none());
        assert!(state.take_ack(u64::MAX).is_none());
        let three = state.take_ack(3).expect("3 waits");
        three(Vec::new());
        assert!(state.take_ack(3).is_none(), "an ack is taken once");
        state.take_ack(4).expect("4 waits")(Vec::new());
        state.take_ack(1).expect("1 waits")(Vec::new());
        assert_eq!(hits.load(Ordering::Relaxed), 111);
        assert_eq!(
            state.acks.capacity(),
            0,
            "no buffer kept once nothing is pending"
        );
        assert_eq!(state.next_message_id(None), 5, "ids keep counting");
    }

    #[test]
    fn rooms_are_a_sorted_set() {
        let mut state = EndpointState::default();
        for room in ["b", "a", "c", "a", "b"] {
            state.add_room(room);
        }
        assert_eq!(state.rooms(), [Box::from("a"), "b".into(), "c".into()]);
        state.remove_room("b");
        state.remove_room("b");
        state.remove_room("zzz");
        assert_eq!(state.rooms(), [Box::from("a"), "c".into()]);
        state.remove_room("a");
        state.remove_room("c");
        assert!(state.rooms().is_empty());
        assert_eq!(state.rooms.capacity(), 0);
    }

    #[test]
    fn endpoints_join_once_leave_and_keep_join_order() {
        let mut endpoints = Endpoints::default();
        assert!(endpoints.insert(""));
        assert_eq!(endpoints.0.capacity(), 1, "one namespace, one slot");
        assert!(endpoints.insert("/chat"));
        assert!(endpoints.insert("/news"));
        assert!(!endpoints.insert("/chat"));
        assert!(endpoints.contains("") && endpoints.contains("/news"));
        assert!(!endpoints.contains("/other") && !endpoints.contains("/cha"));

        if let Some(chat) = endpoints.get_mut("/chat") {
            chat.add_room("lobby");
        }
        assert_eq!(
            endpoints.get("/chat").map(EndpointState::rooms),
            Some(&[Box::from("lobby")][..])
        );
        let chat = endpoints.remove("/chat").expect("/chat was joined");
        assert_eq!(chat.rooms(), [Box::from("lobby")]);
        assert!(endpoints.remove("/chat").is_none());
        assert!(
            endpoints.insert("/chat"),
            "a left namespace can be joined again"
        );

        let names: Vec<Box<str>> = endpoints.into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, [Box::from(""), "/news".into(), "/chat".into()]);
    }
}
