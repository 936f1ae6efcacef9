/** ESP app and bootloader images: parse, validate for a target, build. */
export { type BuildImageSpec, buildImage } from "./build.js";
export {
  APP_DESC_LENGTH,
  APP_DESC_MAGIC,
  BOOTLOADER_DESC_LENGTH,
  BOOTLOADER_DESC_MAGIC,
  encodeAppDesc,
  encodeBootloaderDesc,
  parseAppDesc,
  parseBootloaderDesc,
} from "./descriptors.js";
export * from "./format.js";
export { isFlashMapped, segmentKind } from "./memory.js";
export {
  ImageFormatError,
  type ImageFormatFault,
  type ParseImageOptions,
  parseImage,
  parseImageHeader,
} from "./parse.js";
export {
  type ImageProblem,
  type ImageProblemCode,
  imageProblems,
  listImageProblems,
  type ValidateImageOptions,
  validateImage,
} from "./validate.js";
