// JSON as JSON.parse returns it: the type of config and API bodies before they are read into typed values.

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}
