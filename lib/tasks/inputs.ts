/**
 * Accepts one input or an array of them and remembers which, so results come back the same way.
 * `check` validates each item; `label` names it in errors ("input", or "inputs[3]").
 */
export function asList<T>(
  input: unknown,
  check: (value: unknown, label: string) => T,
): { items: T[]; single: boolean } {
  if (Array.isArray(input)) {
    return { items: input.map((value, index) => check(value, `inputs[${index}]`)), single: false };
  }
  return { items: [check(input, 'input')], single: true };
}
