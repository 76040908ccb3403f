// Jest for the manifest cross-check (run by `make validate` through scripts/jest.sh validate):
// the root config's TypeScript transform and module mapping, without the store setup.
import root from "../../jest.config.js";

const unit = root.projects.find((p) => p.displayName === "unit");

/** @type {import('jest').Config} */
export default {
  rootDir: unit.rootDir,
  testEnvironment: unit.testEnvironment,
  extensionsToTreatAsEsm: unit.extensionsToTreatAsEsm,
  transform: unit.transform,
  moduleNameMapper: unit.moduleNameMapper,
  displayName: "validate",
  testMatch: ["<rootDir>/istio/check/**/*.test.ts"],
};
