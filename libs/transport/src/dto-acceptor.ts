import { getMetadataStorage } from 'class-validator';

/** Says a DTO instance certainly passes its class-validator rules; false means "ask class-validator". */
export type DtoAcceptor = (dto: object) => boolean;

type Check = (value: unknown) => boolean;

/**
 * The class-validator constraints an acceptor can check, by their names in
 * class-validator's metadata. Each check is as strict as class-validator's
 * own or stricter: a stricter one only sends a payload down the full path.
 */
const CHECKS: Record<string, (constraints: unknown[]) => Check | undefined> = {
  isString: () => (value) => typeof value === 'string',
  // A global or sticky pattern keeps state between tests: left to class-validator.
  matches: ([pattern, modifiers]) =>
    pattern instanceof RegExp &&
    !pattern.global &&
    !pattern.sticky &&
    modifiers == null
      ? (value) => typeof value === 'string' && pattern.test(value)
      : undefined,
  isInt: () => (value) => typeof value === 'number' && Number.isInteger(value),
  min: ([min]) =>
    typeof min === 'number'
      ? (value) => typeof value === 'number' && value >= min
      : undefined,
  max: ([max]) =>
    typeof max === 'number'
      ? (value) => typeof value === 'number' && value <= max
      : undefined,
};

interface PropertyRules {
  optional: boolean;
  checks: Check[];
}

/**
 * Compiles a DTO class's own class-validator decorators into a quick
 * "certainly valid" test, for the payloads of the hot patterns (publish,
 * pull, lookup): class-validator costs more per request than anything else
 * the peer does for a publish. The test accepts a payload only when every
 * property is one the DTO declares, present unless optional, and passes
 * every rule; anything else (including null for an optional field) gets
 * the full validation, which also words the errors. A DTO with a rule the
 * acceptor does not know, nested DTOs, `each` or groups gets no acceptor.
 */
export function compileDtoAcceptor(
  dto: new () => object,
): DtoAcceptor | undefined {
  const metadatas = getMetadataStorage().getTargetValidationMetadatas(
    dto,
    '',
    false,
    false,
  );
  const properties = new Map<string, PropertyRules>();
  for (const metadata of metadatas) {
    if (metadata.each || metadata.always || (metadata.groups?.length ?? 0) > 0)
      return undefined;
    let rules = properties.get(metadata.propertyName);
    if (!rules) {
      rules = { optional: false, checks: [] };
      properties.set(metadata.propertyName, rules);
    }
    if (
      metadata.type === 'conditionalValidation' &&
      metadata.name === 'isOptional'
    ) {
      rules.optional = true;
      continue;
    }
    if (metadata.type !== 'customValidation' || metadata.name === undefined)
      return undefined;
    const check = CHECKS[metadata.name]?.(metadata.constraints ?? []);
    if (!check) return undefined;
    rules.checks.push(check);
  }
  if (properties.size === 0) return undefined;

  return (instance) => {
    const fields = instance as Record<string, unknown>;
    // Own keys only: an unknown one (or __proto__, constructor) goes to the full path.
    for (const key of Object.keys(fields))
      if (!properties.has(key)) return false;
    for (const [name, rules] of properties) {
      const value = fields[name];
      if (value === undefined && rules.optional) continue;
      for (const check of rules.checks) if (!check(value)) return false;
    }
    return true;
  };
}
