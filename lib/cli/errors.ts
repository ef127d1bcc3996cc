/** An error the CLI reports as one line, with its exit code: 2 for usage errors, 1 otherwise. */
export class CliError extends Error {
  readonly exitCode: 1 | 2;

  constructor(message: string, exitCode: 1 | 2, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A mistake in the command line itself (exit code 2). */
export function usageError(message: string): CliError {
  return new CliError(message, 2);
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
};

/** "cannot read --file 'x.txt': no such file", from a Node fs error. */
export function fileError(what: string, file: string, error: unknown): CliError {
  const code = (error as { code?: unknown } | null)?.code;
  const reason =
    typeof code === 'string' && FILE_ERRORS[code] !== undefined
      ? FILE_ERRORS[code]
      : error instanceof Error
        ? error.message
        : String(error);
  return new CliError(`cannot read ${what} '${file}': ${reason}`, 1, { cause: error });
}
