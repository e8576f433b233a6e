//! Which server each request of a session goes to when the run has several (the nodes of a
//! cluster): all on the node that minted the session, or spread so that the cluster has to
//! take the session over and forward its requests.

use std::net::SocketAddr;

use clap::ValueEnum;

/// How the requests of one session are spread over the servers of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Route {
    /// Every request of session i on server i mod n: the node that mints the session serves
    /// it, and nothing is taken over or forwarded.
    #[default]
    Owner,
    /// The handshake of session i on server i mod n, its first transport request (the first
    /// GET, or the websocket upgrade) on the next server, which takes the session over, and
    /// every later GET and POST on a server other than that one, in turn, so that each is
    /// forwarded to it. Needs at least two servers.
    Rotate,
}

impl Route {
    /// The flag's value, for the JSON line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Route::Owner => "owner",
            Route::Rotate => "rotate",
        }
    }

    /// Where the requests of session `index` go among `servers` servers (at least one).
    pub(crate) fn plan(self, servers: usize, index: usize) -> Plan {
        let servers = servers.max(1);
        let minted = index % servers;
        match self {
            Route::Rotate if servers > 1 => {
                let owner = (minted + 1) % servers;
                Plan {
                    minted,
                    owner,
                    later: (1..servers).map(|step| (owner + step) % servers).collect(),
                }
            }
            Route::Owner | Route::Rotate => Plan {
                minted,
                owner: minted,
                later: vec![minted],
            },
        }
    }
}

/// The servers, by index into the run's list, that one session's requests go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The server of the handshake, which mints the session.
    pub(crate) minted: usize,
    /// The server of the first transport request, which serves the session from then on.
    pub(crate) owner: usize,
    /// The servers later GETs and POSTs go to, in turn (never empty).
    pub(crate) later: Vec<usize>,
}

impl Plan {
    /// The plan with server indexes turned into the addresses in `servers`.
    pub(crate) fn addresses(&self, servers: &[SocketAddr]) -> Targets {
        Targets {
            owner: servers[self.owner],
            later: self.later.iter().map(|&index| servers[index]).collect(),
        }
    }
}

/// Where a session's transport requests go, as addresses: the first to `owner`, later ones
/// to `later` in turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Targets {
    /// The server of the first transport request.
    pub(crate) owner: SocketAddr,
    /// The servers of later GETs and POSTs, in turn (never empty).
    pub(crate) later: Vec<SocketAddr>,
}

impl Targets {
    /// Every request on `server`.
    pub(crate) fn fixed(server: SocketAddr) -> Targets {
        Targets {
            owner: server,
            later: vec![server],
        }
    }

    /// The server of later request `number` (counted from 0) of one kind.
    pub(crate) fn later(&self, number: u64) -> SocketAddr {
        let turns = u64::try_from(self.later.len()).unwrap_or(1).max(1);
        self.later[usize::try_from(number % turns).unwrap_or(0)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Plan {
        /// The server index of later request `number`, as [`Targets::later`] picks it.
        fn later(&self, number: u64) -> usize {
            self.later[usize::try_from(number).expect("small") % self.later.len()]
        }
    }

    #[test]
    fn owner_keeps_every_request_on_the_minting_server() {
        for index in 0..7 {
            let plan = Route::Owner.plan(3, index);
            assert_eq!(plan.minted, index % 3);
            assert_eq!(plan.owner, plan.minted);
            assert!((0..10).all(|number| plan.later(number) == plan.minted));
        }
    }

    #[test]
    fn rotate_takes_on_the_next_server_and_forwards_everything_after() {
        let plan = Route::Rotate.plan(3, 4);
        assert_eq!((plan.minted, plan.owner), (1, 2));
        let later: Vec<usize> = (0..6).map(|number| plan.later(number)).collect();
        assert_eq!(later, [0, 1, 0, 1, 0, 1]);
        for index in 0..12 {
            let plan = Route::Rotate.plan(3, index);
            assert_eq!(plan.minted, index % 3);
            assert_ne!(plan.owner, plan.minted, "session {index} is taken over");
            assert!(
                (0..10).all(|number| plan.later(number) != plan.owner),
                "every later request of session {index} is forwarded"
            );
            // Both other servers are used, in turn.
            let mut used: Vec<usize> = (0..2).map(|number| plan.later(number)).collect();
            used.sort_unstable();
            let mut others: Vec<usize> = (0..3).filter(|&s| s != plan.owner).collect();
            others.sort_unstable();
            assert_eq!(used, others);
        }
    }

    #[test]
    fn rotate_over_two_servers_alternates_owner_and_forwarder() {
        let plan = Route::Rotate.plan(2, 0);
        assert_eq!((plan.minted, plan.owner), (0, 1));
        assert!((0..5).all(|number| plan.later(number) == 0));
        let plan = Route::Rotate.plan(2, 1);
        assert_eq!((plan.minted, plan.owner), (1, 0));
        assert!((0..5).all(|number| plan.later(number) == 1));
    }

    #[test]
    fn rotate_over_one_server_cannot_move_anything() {
        let plan = Route::Rotate.plan(1, 5);
        assert_eq!((plan.minted, plan.owner, plan.later(3)), (0, 0, 0));
    }

    #[test]
    fn plans_become_addresses() {
        let servers: Vec<SocketAddr> = ["127.0.0.1:3000", "127.0.0.1:3100", "127.0.0.1:3200"]
            .iter()
            .map(|text| text.parse().expect("an address"))
            .collect();
        let targets = Route::Rotate.plan(3, 2).addresses(&servers);
        assert_eq!(targets.owner, servers[0]);
        assert_eq!(targets.later, [servers[1], servers[2]]);
        assert_eq!(targets.later(0), servers[1]);
        assert_eq!(targets.later(1), servers[2]);
        assert_eq!(targets.later(2), servers[1]);
        let fixed = Targets::fixed(servers[1]);
        assert_eq!((fixed.owner, fixed.later(7)), (servers[1], servers[1]));
    }
}
