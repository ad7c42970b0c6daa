//! The PIO driver's byte order and gamma compensation, checked against a model of the kernel driver
//! (raspberrypi/linux `drivers/misc/ws2812-pio-rp1.c`): its deferred work reads each LED as a
//! little-endian `u32` (R = bits 0–7, G = 8–15, B = 16–23, W = 24–31), stores `[W, B, R, G]`
//! through its gamma, and the PIO shifts that word out MSB first, 24 bits (32 with `rgbw`).

use super::*;

/// The bytes the kernel puts on the wire for `written` (our `pack` output), per its source.
fn kernel_wire(written: &[u8], brightness: u8, rgbw: bool) -> Vec<u8> {
    let mut wire = Vec::new();
    for led in written.chunks_exact(4) {
        let pix = u32::from_le_bytes([led[0], led[1], led[2], led[3]]);
        let (r, g, b, w) = (
            pix as u8,
            (pix >> 8) as u8,
            (pix >> 16) as u8,
            (pix >> 24) as u8,
        );
        let out = |v| kernel_output(brightness, v);
        // Stored as bytes [w, b, r, g]: the u32 the PIO sees is g<<24 | r<<16 | b<<8 | w.
        let word = u32::from_le_bytes([out(w), out(b), out(r), out(g)]);
        let bits = if rgbw { 32 } else { 24 };
        for k in 0..bits / 8 {
            wire.push((word >> (24 - 8 * k)) as u8);
        }
    }
    wire
}

#[test]
fn wire_bytes_come_out_in_the_order_they_went_in() {
    let identity = inverse_lut(None);
    // RGB strip: three opaque wire bytes per pixel, whatever the colour order was.
    let wire = [0x11, 0x22, 0x33, 0xA0, 0xB0, 0xC0];
    let mut buf = [0u8; 8];
    pack(&wire, 3, &identity, &mut buf);
    assert_eq!(buf, [0x22, 0x11, 0x33, 0, 0xB0, 0xA0, 0xC0, 0]);
    // With pass-through (brightness 0 on a kernel with PR #7110) the values are untouched...
    let passthrough = |written: &[u8], rgbw| {
        let mut out = Vec::new();
        for led in written.chunks_exact(4) {
            let order = if rgbw {
                &[1, 0, 2, 3][..]
            } else {
                &[1, 0, 2][..]
            };
            out.extend(order.iter().map(|&i| led[i]));
        }
        out
    };
    assert_eq!(passthrough(&buf, false), wire);
    // ...and the full model of the kernel (brightness 255, its gamma) agrees once our LUT undoes it,
    // to within the one step its table skips here and there (192 is not in it: 191 is sent).
    let lut = inverse_lut(Some(255));
    pack(&wire, 3, &lut, &mut buf);
    let sent = kernel_wire(&buf, 255, false);
    assert_eq!(sent.len(), wire.len());
    for (s, w) in sent.iter().zip(wire) {
        assert!(s.abs_diff(w) <= 1, "sent {sent:?} for {wire:?}");
    }
    assert_eq!(&sent[..5], &wire[..5]);
    // RGBW: four bytes per pixel, the fourth sent last.
    let wire4 = [1, 2, 3, 4, 200, 201, 202, 203];
    pack(&wire4, 4, &identity, &mut buf);
    assert_eq!(passthrough(&buf, true), wire4);
}

#[test]
fn the_kernel_gamma_curve_matches_its_table_and_we_undo_it() {
    // Values of the kernel's ws2812_gamma[] table, read from the driver source.
    for (i, v) in [
        (0, 0),
        (21, 0),
        (22, 1),
        (64, 11),
        (128, 55),
        (200, 148),
        (253, 250),
        (254, 252),
        (255, 255),
    ] {
        assert_eq!(kernel_gamma(i), v, "gamma[{i}]");
    }
    let lut = inverse_lut(Some(255));
    let mut worst = 0;
    for want in 0..=255u8 {
        let got = kernel_output(255, lut[want as usize]);
        worst = worst.max((got as i32 - want as i32).abs());
    }
    // The kernel's table skips a few values near the top (…, 224, 227, …): off by at most 1.
    assert!(worst <= 1, "worst error {worst}");
    assert_eq!(lut[0], 0);
    assert_eq!(kernel_output(255, lut[255]), 255);
}

#[test]
fn overlay_properties_are_read_from_the_device_tree() {
    let root = tempfile::tempdir().unwrap();
    let node = root.path().join("ws2812_pio@12");
    std::fs::create_dir(&node).unwrap();
    let cells = |v: &[u32]| v.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
    std::fs::write(node.join("leds-gpios"), cells(&[0x8c, 12, 0])).unwrap();
    std::fs::write(node.join("rpi,num-leds"), cells(&[144])).unwrap();
    std::fs::write(node.join("rpi,rgbw"), b"").unwrap();
    std::fs::create_dir(root.path().join("other@1")).unwrap();
    assert_eq!(
        Overlay::probe(root.path()),
        [Overlay {
            gpio: 12,
            num_leds: 144,
            rgbw: true,
            brightness: 255
        }]
    );
    std::fs::write(node.join("rpi,brightness"), cells(&[0])).unwrap();
    assert_eq!(Overlay::probe(root.path())[0].brightness, 0);
    assert_eq!(
        Overlay::config_line(12, 144, true),
        "dtoverlay=ws2812-pio,gpio=12,num_leds=144,rgbw"
    );
}

#[test]
fn frames_are_written_whole_at_offset_zero() {
    // A regular file stands in for /dev/leds0: the brightness byte, then each frame over it at 0.
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("leds0");
    std::fs::write(&dev, b"").unwrap();
    let mut layout = crate::config::Config::from_toml(
        "[[strips]]\nid=\"s\"\ndriver=\"pio\"\ngpio=4\ndevice=\"/dev/leds0\"\n[[zones]]\nid=\"z\"\nstrip=\"s\"\npixels=2\n",
    )
    .unwrap()
    .layout;
    layout.strips[0].device = Some(dev.clone());
    let overlays = [Overlay {
        gpio: 4,
        num_leds: 2,
        rgbw: false,
        brightness: 0,
    }];
    let mut out = PioOutput::open(&layout, &overlays).unwrap();
    assert_eq!(
        std::fs::read(&dev).unwrap(),
        [0],
        "pass-through brightness byte"
    );
    let mut frame = OutFrame::new(&layout);
    frame.strips[0].copy_from_slice(&[1, 2, 3, 4, 5, 6]);
    frame.dirty[0] = true;
    for _ in 0..2 {
        out.show(&frame).unwrap();
    }
    assert_eq!(std::fs::read(&dev).unwrap(), [2, 1, 3, 0, 5, 4, 6, 0]);
}

#[test]
fn rgbw_strips_send_their_w_byte() {
    // An SK6812 RGBW strip: 4 wire bytes a pixel (W last for GRBW) reach the driver's W slot, which
    // the kernel sends fourth when the overlay has `rgbw`.
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("leds0");
    std::fs::write(&dev, b"").unwrap();
    let mut layout = crate::config::Config::from_toml(
        "[[strips]]\nid=\"s\"\ndriver=\"pio\"\ngpio=4\ndevice=\"/dev/leds0\"\nled_type=\"sk6812\"\n\
         color_order=\"GRBW\"\n[[zones]]\nid=\"z\"\nstrip=\"s\"\npixels=2\n",
    )
    .unwrap()
    .layout;
    assert_eq!(layout.strips[0].bytes_per_pixel(), 4);
    layout.strips[0].device = Some(dev.clone());
    let overlays = [Overlay {
        gpio: 4,
        num_leds: 2,
        rgbw: true,
        brightness: 0,
    }];
    let mut out = PioOutput::open(&layout, &overlays).unwrap();
    let mut frame = OutFrame::new(&layout);
    assert_eq!(frame.strips[0].len(), 8);
    frame.strips[0].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    frame.dirty[0] = true;
    out.show(&frame).unwrap();
    let written = std::fs::read(&dev).unwrap();
    assert_eq!(written, [2, 1, 3, 4, 6, 5, 7, 8]);
    assert_eq!(kernel_wire(&written, 255, true).len(), 8);
    // What the kernel shifts out in pass-through: the wire bytes, W included, in order.
    let sent: Vec<u8> = written
        .chunks_exact(4)
        .flat_map(|w| [w[1], w[0], w[2], w[3]])
        .collect();
    assert_eq!(sent, [1, 2, 3, 4, 5, 6, 7, 8]);
}
