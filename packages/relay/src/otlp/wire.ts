/** Protobuf wire types (the low three bits of a field's tag), as the decoder and the encoder use them. */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const SGROUP = 3;
export const EGROUP = 4;
export const I32 = 5;
