/** A primitive OpenTelemetry attribute value. */
export type AttributePrimitive = string | number | boolean;
/** An OpenTelemetry attribute value, structurally compatible with `@opentelemetry/api`'s `AttributeValue`. */
export type AttributeValue =
  | AttributePrimitive
  | Array<null | undefined | string>
  | Array<null | undefined | number>
  | Array<null | undefined | boolean>;
/** An attribute map, structurally compatible with `@opentelemetry/api`'s `Attributes`. */
export interface Attributes {
  [key: string]: AttributeValue | undefined;
}
