// Jest for loadtest/ and bench/macro/ until the root jest.config.js lists them (its unit project
// matches only mesh, services and contracts). Same swc transform and module mapping as the root.
import root from "../jest.config.js";

const unit = root.projects.find((p) => p.displayName === "unit");

/** @type {import('jest').Config} */
export default {
  rootDir: unit.rootDir,
  testEnvironment: unit.testEnvironment,
  extensionsToTreatAsEsm: unit.extensionsToTreatAsEsm,
  transform: unit.transform,
  moduleNameMapper: unit.moduleNameMapper,
  testMatch: ["<rootDir>/loadtest/src/**/*.test.ts", "<rootDir>/bench/macro/**/*.test.ts"],
  testTimeout: 60_000,
};
