//! Which Raspberry Pi this is, from its model string and revision code, and whether the bundled
//! rpi_ws281x library will accept it. Pure functions over facts the preflight reads.
//!
//! Revision codes (new style, bit 23 set): bits 12–15 are the processor (0 BCM2835, 1 BCM2836,
//! 2 BCM2837, 3 BCM2711, 4 BCM2712), 16–19 the manufacturer, 24–25 warranty/OTP flags.

/// The board revision codes rpi_ws281x 1.1.0 lists in `rpihw.c` (`rpi_hw_info[].hwver`), in its order.
/// Its 64-bit build compares `/proc/device-tree/system/linux,revision` with these exactly; its 32-bit
/// build compares `/proc/cpuinfo`'s Revision with the manufacturer and warranty bits masked out.
pub const RPI_WS281X_REVISIONS: [u32; 63] = [
    0xc03130, 0xc03131, 0xa03111, 0xb03111, 0xc03111, 0xa03112, 0xb03112, 0xc03112, 0xb03114,
    0xd03114, 0xc03114, 0xa03115, 0xb03115, 0xc03115, 0xd03115, 0xa03140, 0xb03140, 0xc03140,
    0xd03140, 0xa03141, 0xb03141, 0xc03141, 0xd03141, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x09, 0x0d, 0x0e, 0x0f, 0x10, 0x13, 0x900032, 0x11, 0x14, 0xa020a0, 0xa02100, 0xa220a0,
    0x900092, 0x900093, 0x920093, 0x9200c1, 0x9000c1, 0x902120, 0x12, 0x15, 0x900021, 0xa01041,
    0xa01040, 0xa21041, 0xa22042, 0xa020d4, 0xa020d3, 0xa32082, 0xa02082, 0xa02083, 0xa22082,
    0xa22083, 0x9020e0,
];

/// `RPI_MANUFACTURER_MASK | RPI_WARRANTY_MASK` in rpihw.c.
const MASKED_BITS: u32 = (0xf << 16) | (0x3 << 24);

/// Whether rpi_ws281x finds `revision` in its table; `exact` is its 64-bit (aarch64) behaviour.
pub fn ws281x_knows(revision: u32, exact: bool) -> bool {
    let known = RPI_WS281X_REVISIONS.iter();
    if exact {
        known.clone().any(|&r| r == revision)
    } else {
        known
            .clone()
            .any(|&r| r & !MASKED_BITS == revision & !MASKED_BITS)
    }
}

/// Whether the board has the RP1 I/O chip (Pi 5, Pi 500, CM5): no rpi_ws281x, PIO available.
pub fn is_rp1_board(model: Option<&str>, revision: Option<u32>) -> bool {
    let by_model = model.is_some_and(|m| {
        ["Raspberry Pi 5", "Raspberry Pi 500", "Compute Module 5"]
            .iter()
            .any(|p| m.contains(p))
    });
    let by_revision = revision.is_some_and(|r| r & (1 << 23) != 0 && (r >> 12) & 0xf == 4);
    by_model || by_revision
}

/// Whether this is a Pi 0–4 (VideoCore-clocked SPI, PWM/PCM for rpi_ws281x).
pub fn is_videocore_board(model: Option<&str>) -> bool {
    model.is_some_and(|m| m.contains("Raspberry Pi")) && !is_rp1_board(model, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_matching_follows_the_library() {
        // A Pi 3 B made by Sony UK: in the table.
        assert!(ws281x_knows(0xa02082, true));
        // The same board made by Stadium (manufacturer 5) is not in it: 64-bit fails, 32-bit masks it.
        assert!(!ws281x_knows(0xa52082, true));
        assert!(ws281x_knows(0xa52082, false));
        // A Pi 2 B v1.2 by Sony UK (a02042) is missing from the table whatever the arch.
        assert!(!ws281x_knows(0xa02042, true));
        assert!(ws281x_knows(0xa02042, false), "masked: equals a22042");
        // Warranty bit set (over-volted): only the 32-bit build ignores it.
        assert!(!ws281x_knows(0x2a02082, true));
        assert!(ws281x_knows(0x2a02082, false));
        // A Pi 3 A+ rev 1.1 (9020e1) is unknown to both; a Pi 5 (c04170) too.
        assert!(!ws281x_knows(0x9020e1, false));
        assert!(!ws281x_knows(0xc04170, false));
    }

    #[test]
    fn rp1_boards_by_model_or_processor() {
        assert!(is_rp1_board(Some("Raspberry Pi 5 Model B Rev 1.0"), None));
        assert!(is_rp1_board(
            Some("Raspberry Pi Compute Module 5 Rev 1.0"),
            None
        ));
        assert!(is_rp1_board(Some("Raspberry Pi 500 Rev 1.0"), None));
        assert!(is_rp1_board(None, Some(0xd04170)));
        assert!(!is_rp1_board(
            Some("Raspberry Pi 4 Model B Rev 1.4"),
            Some(0xc03114)
        ));
        assert!(is_videocore_board(Some("Raspberry Pi 3 Model B Rev 1.2")));
        assert!(!is_videocore_board(Some("Raspberry Pi 5 Model B Rev 1.0")));
    }

    /// The table above is the library's: compared with the bundled rpihw.c when cargo has it.
    #[test]
    fn table_matches_the_bundled_rpihw_c() {
        let Some(home) = std::env::var_os("CARGO_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")))
        else {
            return;
        };
        let Ok(registries) = std::fs::read_dir(home.join("registry/src")) else {
            return;
        };
        for reg in registries.flatten() {
            let file = reg.path().join("rs_ws281x-0.5.1/src/rpi_ws281x/rpihw.c");
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let listed: Vec<u32> = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix(".hwver"))
                .filter_map(|l| {
                    let hex = l.trim_start_matches([' ', '=']).trim_end_matches(',');
                    u32::from_str_radix(hex.trim_start_matches("0x").trim_start_matches("0X"), 16)
                        .ok()
                })
                .collect();
            let ours: Vec<u32> = RPI_WS281X_REVISIONS.to_vec();
            assert_eq!(listed, ours, "{}", file.display());
        }
    }
}
