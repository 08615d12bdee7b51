// Types for asl-validator (it ships none): the validator of Amazon States Language definitions used in tests.
declare module 'asl-validator' {
  interface ValidationError {
    'Error code': string;
    Message: string;
  }
  interface Validation {
    isValid: boolean;
    errors: ValidationError[];
    errorsText(separator?: string): string;
  }
  export default function validator(
    definition: unknown,
    options?: { checkPaths?: boolean; checkArn?: boolean },
  ): Validation;
}
