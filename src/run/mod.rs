//! What runs the pure lease core: the lease loop against a store, what it publishes for
//! the HTTP side, the controller's eligibility probe, the heartbeat task, the deadline
//! timer, the event log, the metrics, and the role label on the pod's own Pod.

pub mod deadline;
pub mod eligibility;
pub mod events;
pub mod heartbeat;
pub mod history;
pub mod lease_loop;
pub mod metrics;
pub mod pod_role;
pub mod publish;
pub mod table_state;
pub mod table_watch;
