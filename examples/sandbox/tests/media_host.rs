//! `--media-host` (`Config::media_host`): the media router binds, and announces as its ICE
//! candidate, the address it is given; the sandbox's `host` otherwise. Firefox pairs with no
//! loopback candidate, so a routed call with Firefox pages needs one of the machine's own
//! addresses there (tests/e2e/harness.mjs).

use std::net::IpAddr;

use video_handoff_sandbox::keygen;
use video_handoff_sandbox::{start, Config};

#[tokio::test]
async fn the_media_router_binds_the_media_host_when_given_and_the_host_otherwise() {
    let keys = keygen::generate_with_bits(1024);
    let config = Config::for_tests("media-host-app", &keys.public_pem);

    let plain = start(config.clone()).await.expect("sandbox starts");
    assert_eq!(
        plain.sandbox.media_addr().ip(),
        IpAddr::from([127, 0, 0, 1])
    );
    plain.task.abort();

    // Another address of this machine (all of 127/8 is on the loopback interface).
    let other = IpAddr::from([127, 0, 0, 2]);
    let moved = start(Config {
        media_host: Some(other),
        ..config
    })
    .await
    .expect("sandbox starts");
    assert_eq!(moved.sandbox.media_addr().ip(), other);
    assert_eq!(
        moved.addr.ip(),
        IpAddr::from([127, 0, 0, 1]),
        "HTTP stays on the host"
    );
    moved.task.abort();
}
