// Exact decimal arithmetic for the live totals of the invoice form (money is never a float):
// values are BigInt counts of 10^-8, rounded half-up like the server's Decimal ROUND_HALF_UP.
const SCALE = 10n ** 8n;
const PLACES = 8;

// Currencies ISO 4217 gives no minor unit (their amounts are whole).
const WHOLE_UNITS = new Set([
  "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
  "XAF", "XOF", "XPF",
]);

/** The decimals of `currency`'s invoice amounts, as the server's minor_units() (domain/money.py)
 * answers them: 0 for a whole-unit currency, else 2, the most QuickBooks keeps in any currency
 * ([O]: 2 for KWD too, whose ISO minor units are 3). Not Intl's digits, which are 3 for KWD and
 * 0 for HUF, IDR, COP ... (CLDR's): the form's totals would then not be what the server computes
 * and QuickBooks records. */
export function currencyPlaces(currency) {
  return WHOLE_UNITS.has(currency) ? 0 : 2;
}

/** Parse "12.5", "-3", ".25" into a scaled BigInt; null when the text is not a number. */
export function parse(text) {
  let s = String(text ?? "").trim().replace(",", ".");
  if (!/^[-+]?(\d+\.?\d*|\.\d+)$/.test(s)) return null;
  const negative = s.startsWith("-");
  s = s.replace(/^[-+]/, "");
  const [whole, fraction = ""] = s.split(".");
  if (fraction.length > PLACES) return null;
  const value = BigInt(whole || "0") * SCALE + BigInt((fraction + "0".repeat(PLACES)).slice(0, PLACES));
  return negative ? -value : value;
}

function divideRounded(n, d) {
  const q = n / d;
  const r = n % d;
  const twice = 2n * (r < 0n ? -r : r);
  if (twice >= d) return q + (n < 0n ? -1n : 1n);
  return q;
}

export const ZERO = 0n;
export const HUNDRED = 100n * SCALE;
export const ONE = SCALE;
export const mul = (a, b) => divideRounded(a * b, SCALE);
export const div = (a, b) => (b === 0n ? 0n : divideRounded(a * SCALE, b));

/** Round to `places` decimals (the currency's), half-up. */
export function round(a, places) {
  const unit = 10n ** BigInt(PLACES - places);
  return divideRounded(a, unit) * unit;
}

/** a x b / c rounded half-up to `places` decimals, once (c > 0). */
export function mulDivRound(a, b, c, places) {
  const unit = 10n ** BigInt(PLACES - places);
  return divideRounded(a * b, c * unit) * unit;
}

/** Plain text with `places` decimals ("109.78"), for the API and Intl formatting. */
export function text(a, places) {
  const r = round(a, places);
  const negative = r < 0n;
  const abs = negative ? -r : r;
  const whole = abs / SCALE;
  let fraction = (abs % SCALE).toString().padStart(PLACES, "0").slice(0, places);
  const out = places > 0 ? `${whole}.${fraction}` : `${whole}`;
  return negative && r !== 0n ? `-${out}` : out;
}
