import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { ConfigError, SettingSource, loadConfig } from './config';

class Settings {
  @IsString()
  host: string = '127.0.0.1';

  @IsInt()
  @Min(0)
  @Max(65535)
  port: number = 5555;

  @IsOptional()
  @IsString()
  label?: string;
}

const sources: Record<keyof Settings, SettingSource> = {
  host: { env: 'HOST', flags: ['host'] },
  port: { env: 'PORT', flags: ['port', 'legacy_port'] },
  label: { env: 'LABEL', flags: ['label'] },
};

describe('loadConfig', () => {
  it('applies the class defaults when nothing is given', () => {
    expect(loadConfig(Settings, sources, [], {})).toMatchObject({ host: '127.0.0.1', port: 5555 });
  });

  it('reads the environment, and lets flags (and their aliases) override it', () => {
    const env = { HOST: '0.0.0.0', PORT: '6000' };
    expect(loadConfig(Settings, sources, [], env)).toMatchObject({ host: '0.0.0.0', port: 6000 });
    expect(loadConfig(Settings, sources, ['--legacy_port', '7000'], env).port).toBe(7000);
    expect(loadConfig(Settings, sources, ['--port=8000'], env).port).toBe(8000);
  });

  it('names the variable, its flag and the bad value', () => {
    expect(() => loadConfig(Settings, sources, [], { PORT: 'abc' })).toThrow(
      /PORT \(--port\) = 'abc': .*integer/,
    );
    expect(() => loadConfig(Settings, sources, ['--port', '70000'], {})).toThrow(ConfigError);
  });

  it('refuses unknown flags', () => {
    expect(() => loadConfig(Settings, sources, ['--prot', '1'], {})).toThrow(
      /Unknown option '--prot'/,
    );
  });
});
