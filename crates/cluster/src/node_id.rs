//! Node ids and the session ids they mint. A session id is 32 lowercase hex characters, as a
//! single node's are: the first [`NODE_ID_LEN`] name the node that minted it, the other 26 are
//! random (104 bits, from the operating system's generator through `uuid`), so ids stay as
//! unguessable as the session's secrecy needs.

/// Hex characters of a node id at the head of a session id.
pub const NODE_ID_LEN: usize = 6;

/// Hex characters of a session id.
pub const SID_LEN: usize = 32;

/// A fresh random node id. It is unique in the cluster only once registered (`SET NX`).
pub(crate) fn random_node_id() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    random[..NODE_ID_LEN].to_owned()
}

/// A new session id minted by node `node_id`.
pub(crate) fn mint_sid(node_id: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    let mut sid = String::with_capacity(SID_LEN);
    sid.push_str(node_id);
    sid.push_str(&random[..SID_LEN - NODE_ID_LEN]);
    sid
}

/// The node that minted session `sid`, if the id has a session id's shape.
pub fn minting_node(sid: &str) -> Option<&str> {
    let well_formed = sid.len() == SID_LEN
        && sid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    well_formed.then(|| &sid[..NODE_ID_LEN])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_id_has_a_single_nodes_shape_and_names_its_node() {
        let node = random_node_id();
        assert_eq!(node.len(), NODE_ID_LEN);
        let sid = mint_sid(&node);
        assert_eq!(sid.len(), SID_LEN);
        assert!(
            sid.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(minting_node(&sid), Some(node.as_str()));
        assert_ne!(mint_sid(&node), sid);
    }

    #[test]
    fn ids_of_another_shape_name_no_node() {
        assert_eq!(minting_node("short"), None);
        assert_eq!(minting_node(&"G".repeat(SID_LEN)), None);
        assert_eq!(minting_node(&"é".repeat(16)), None);
    }
}
