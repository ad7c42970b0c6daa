//! The shared test-config builder ([`crate::testconfig`]) gives configs the daemon accepts. (Its
//! own file is also compiled into the benches, which run no `#[test]`.)

use crate::testconfig::TestConfig;

#[test]
fn builds_a_config_the_daemon_accepts_with_keys_replaced_not_repeated() {
    let text = TestConfig::new("t")
        .mqtt(1234)
        .set("render", "transition = \"1s\"")
        .strip_with("a", &["color_order = \"GRB\""])
        .strip("b")
        .zone("z", "a", 3, [1, 2, 3])
        .zone_with("y", "b", 2, [0, 0, 0], &["on = false"])
        .build();
    assert_eq!(text.matches("transition").count(), 1, "{text}");
    assert!(!text.contains("enabled = false"), "{text}");
    let cfg = diuna::config::Config::from_toml(&text.replace("{dir}", "/tmp")).unwrap();
    assert_eq!(cfg.layout.strips.len(), 2);
    assert_eq!(cfg.layout.zones.len(), 2);
    assert_eq!(cfg.render.transition, std::time::Duration::from_secs(1));
    assert!(cfg.mqtt.enabled && cfg.mqtt.port == 1234, "{text}");
}

#[test]
fn the_bench_layout_has_1000_pixels_in_eight_zones() {
    let text = TestConfig::new("b")
        .bench_1000(&["gamma = 2.2"], &[], |i| {
            vec![format!("brightness = {}", 10 + i)]
        })
        .build();
    let cfg = diuna::config::Config::from_toml(&text.replace("{dir}", "/tmp")).unwrap();
    assert_eq!(cfg.layout.total_pixels(), 1000);
    assert_eq!(cfg.layout.zones.len(), 8);
    assert_eq!(text.matches("reversed = true").count(), 4, "{text}");
    assert!(text.contains("brightness = 17"), "{text}");
}
