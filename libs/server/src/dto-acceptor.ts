import { getMetadataStorage } from 'class-validator';

type Check = (value: unknown) => boolean;

/**
 * The class-validator constraints an acceptor can check, by their names in
 * class-validator's metadata. Each check is as strict as class-validator's
 * own or stricter: a stricter one only sends a payload down the full path.
 */
const CHECKS: Record<string, (constraints: unknown[]) => Check | undefined> = {
  // Stricter than class-validator: a lone surrogate sends the payload to the
  // full path, which refuses it (see PayloadValidationPipe).
  isString: () => (value) => typeof value === 'string' && value.isWellFormed(),
  isBoolean: () => (value) => typeof value === 'boolean',
  // A global or sticky pattern keeps state between tests: left to class-validator.
  matches: ([pattern, modifiers]) =>
    pattern instanceof RegExp && !pattern.global && !pattern.sticky && modifiers == null
      ? (value) => typeof value === 'string' && pattern.test(value)
      : undefined,
  isInt: () => (value) => typeof value === 'number' && Number.isInteger(value),
  // Only with no options: then NaN and the infinities are refused.
  isNumber: ([options]) =>
    options === undefined ||
    (typeof options === 'object' && options !== null && Object.keys(options).length === 0)
      ? (value) => typeof value === 'number' && Number.isFinite(value)
      : undefined,
  min: ([min]) =>
    typeof min === 'number' ? (value) => typeof value === 'number' && value >= min : undefined,
  max: ([max]) =>
    typeof max === 'number' ? (value) => typeof value === 'number' && value <= max : undefined,
  isArray: () => (value) => Array.isArray(value),
  arrayMaxSize: ([max]) =>
    typeof max === 'number' ? (value) => Array.isArray(value) && value.length <= max : undefined,
};

interface PropertyRules {
  optional: boolean;
  /** @ValidateNested: an array of instances of a DTO class, each checked against its own rules. */
  nested: boolean;
  checks: Check[];
}

type Fields = Record<string, unknown>;

/**
 * A quick "certainly valid" test for payloads of DTO classes with simple
 * rules, compiled once per class from its own class-validator decorators:
 * class-validator costs more per request than anything else a peer does for
 * a publish, and per record more than storing a delivered batch.
 *
 * It accepts only when every key of the raw payload (and of each nested
 * item) is a declared property, which also keeps out `__proto__` and
 * `constructor`, and the instance class-transformer made of it passes every
 * rule. Anything else, null for an optional field included, gets the full
 * validation, which also words the errors. A class with a rule the acceptor
 * does not know, `each` on a plain rule, or groups gets no acceptor.
 */
export class DtoAcceptor {
  private static readonly compiled = new Map<Function, DtoAcceptor | null>();

  private constructor(private readonly properties: Map<string, PropertyRules>) {}

  /** The acceptor of `dto`, compiled on first use; undefined where its rules are not all known. */
  static for(dto: Function): DtoAcceptor | undefined {
    let acceptor = DtoAcceptor.compiled.get(dto);
    if (acceptor === undefined) {
      acceptor = DtoAcceptor.compile(dto) ?? null;
      DtoAcceptor.compiled.set(dto, acceptor);
    }
    return acceptor ?? undefined;
  }

  private static compile(dto: Function): DtoAcceptor | undefined {
    const metadatas = getMetadataStorage().getTargetValidationMetadatas(dto, '', false, false);
    const properties = new Map<string, PropertyRules>();
    for (const metadata of metadatas) {
      if (metadata.always || (metadata.groups?.length ?? 0) > 0) return undefined;
      let rules = properties.get(metadata.propertyName);
      if (!rules) {
        rules = { optional: false, nested: false, checks: [] };
        properties.set(metadata.propertyName, rules);
      }
      if (metadata.type === 'nestedValidation') {
        rules.nested = true;
        continue;
      }
      if (metadata.each) return undefined;
      if (metadata.type === 'conditionalValidation' && metadata.name === 'isOptional') {
        rules.optional = true;
        continue;
      }
      if (metadata.type !== 'customValidation' || metadata.name === undefined) return undefined;
      const check = CHECKS[metadata.name]?.(metadata.constraints ?? []);
      if (!check) return undefined;
      rules.checks.push(check);
    }
    // A property without a rule would let any value through, however deep.
    for (const rules of properties.values()) {
      if (rules.checks.length === 0 && !rules.nested) return undefined;
    }
    return properties.size > 0 ? new DtoAcceptor(properties) : undefined;
  }

  /**
   * A plain object (as JSON.parse makes) whose own keys are all declared
   * properties, and as shallow as the DTO: a primitive for each plain
   * property, an array of flat objects for a nested one. class-transformer
   * recurses into whatever it copies, so nothing deeper may reach it here.
   */
  hasOnlyDeclaredKeys(raw: unknown): raw is Fields {
    if (typeof raw !== 'object' || raw === null || !isPlainObject(raw)) return false;
    for (const key of Object.keys(raw)) {
      const rules = this.properties.get(key);
      if (!rules) return false;
      const value = (raw as Fields)[key];
      if (rules.nested ? !isArrayOfFlatObjects(value) : isObject(value)) return false;
    }
    return true;
  }

  /** `instance` is what class-transformer made of `raw`. */
  accepts(raw: unknown, instance: unknown): boolean {
    if (!this.hasOnlyDeclaredKeys(raw) || typeof instance !== 'object' || instance === null)
      return false;
    const fields = instance as Fields;
    for (const [name, rules] of this.properties) {
      // Own properties only, as the raw payload was checked for.
      const value = Object.hasOwn(fields, name) ? fields[name] : undefined;
      if (value === undefined && rules.optional) continue;
      for (const check of rules.checks) if (!check(value)) return false;
      if (rules.nested && !acceptsItems(raw[name], value)) return false;
    }
    return true;
  }
}

/** Each item of a nested array, against the rules of the class class-transformer made it. */
function acceptsItems(raw: unknown, items: unknown): boolean {
  if (!Array.isArray(raw) || !Array.isArray(items) || raw.length !== items.length) return false;
  for (let i = 0; i < items.length; i++) {
    const item: unknown = items[i];
    if (typeof item !== 'object' || item === null) return false;
    const acceptor = item.constructor === Object ? undefined : DtoAcceptor.for(item.constructor);
    if (!acceptor || !acceptor.accepts(raw[i], item)) return false;
  }
  return true;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function isArrayOfFlatObjects(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (const item of value) {
    if (!isObject(item) || !isPlainObject(item)) return false;
    for (const key in item) if (isObject((item as Fields)[key])) return false;
  }
  return true;
}

/** An object whose prototype is Object.prototype (of whichever realm made it): no array, class instance or buffer. */
function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype !== null && Object.getPrototypeOf(prototype) === null && !Array.isArray(value);
}
