import { describe, expect, it } from "vitest";

import { formatDuration, formatRate, formatValue, groupDigits } from "./format";

describe("format", () => {
  it("formats values compactly, edge values by name", () => {
    expect(formatValue(0.123456)).toBe("0.1235");
    expect(formatValue(12000)).toBe("12,000");
    expect(formatValue(1e-7)).toBe("1.000e-7");
    expect(formatValue(NaN)).toBe("NaN");
    expect(formatValue(-Infinity)).toBe("-inf");
    expect(formatValue(2.5)).toBe("2.5");
  });

  it("groups digits as en-US does", () => {
    for (const n of [0, 7, 12, 999, 1000, -1000, 12345, -999999, 1234567, 2 ** 53 - 1, 1e21, 1.5]) {
      expect(groupDigits(n)).toBe(n.toLocaleString("en-US"));
    }
  });

  it("formats durations and rates", () => {
    expect(formatDuration(5.04)).toBe("5.0s");
    expect(formatDuration(75)).toBe("1m 15s");
    expect(formatDuration(3725)).toBe("1h 02m");
    expect(formatRate(1234.4)).toBe("1,234 steps/s");
    expect(formatRate(0.5)).toBe("2.0 s/step");
  });
});
